//! chromedriver + headless Chromium, PC or mobile profile.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Map, Value};

use crate::wait_for;

/// The user agent of the mobile profile (iPhone Safari).
pub const IPHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                             (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// Injected into every document before its own scripts: records the console
/// (`window.__consoleLog`), uncaught errors, and every `data-state` the
/// checkout, billing and charge status regions take (`window.__states`,
/// `window.__billingStates`, `window.__chargeStates`).
const INSTRUMENTATION: &str = r#"(function () {
  if (window.__e2e) return;
  window.__e2e = true;
  window.__consoleLog = [];
  var push = function (line) { try { window.__consoleLog.push(new Date().toISOString() + " " + line); } catch (e) {} };
  ["log", "info", "warn", "error", "debug"].forEach(function (k) {
    var orig = console[k];
    console[k] = function () {
      try { push(k + ": " + Array.prototype.map.call(arguments, function (a) {
        try { return typeof a === "string" ? a : (a instanceof Error ? a.stack || String(a) : JSON.stringify(a)); }
        catch (e) { return String(a); } }).join(" ")); } catch (e) {}
      return orig.apply(console, arguments);
    };
  });
  window.addEventListener("error", function (e) { push("uncaught: " + e.message); });
  window.addEventListener("unhandledrejection", function (e) { push("unhandled rejection: " + e.reason); });
  window.__states = []; window.__billingStates = []; window.__chargeStates = [];
  var track = function (testid, list) {
    var el = document.querySelector('[data-testid="' + testid + '"]');
    var s = el && el.getAttribute("data-state");
    if (s && list[list.length - 1] !== s) list.push(s);
  };
  var record = function () {
    track("checkout-status", window.__states);
    track("billing-status", window.__billingStates);
    track("billing-charge-status", window.__chargeStates);
  };
  new MutationObserver(record).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
})();"#;

/// The browser profile of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Desktop Chromium, 1280x800.
    Pc,
    /// iPhone emulation: 390x844, touch, an iPhone Safari user agent.
    Mobile,
}

impl Profile {
    /// `pc` or `mobile`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Pc => "pc",
            Profile::Mobile => "mobile",
        }
    }
}

/// A chromedriver this harness started; killed (by its own handle) on drop.
struct Driver {
    child: tokio::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A headless Chromium session driven through a chromedriver of its own.
pub struct Browser {
    client: Client,
    driver: Driver,
    session: String,
    main_window: WindowHandle,
    profile: Profile,
    http: reqwest::Client,
    _user_data: tempfile::TempDir,
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

async fn start_driver(http: &reqwest::Client) -> anyhow::Result<Driver> {
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
    anyhow::ensure!(
        Path::new(&bin).is_file(),
        "chromedriver not found at {bin} (set CHROMEDRIVER, or `apt-get install chromium chromium-driver`)"
    );
    let port = free_port()?;
    let child = tokio::process::Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting chromedriver at {bin}"))?;
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let status = format!("{}/status", driver.url);
    wait_for("chromedriver to report ready", Duration::from_secs(30), || {
        let req = http.get(&status).timeout(Duration::from_secs(2)).send();
        async move {
            let v: Value = req.await?.json().await?;
            Ok((v["value"]["ready"] == true).then_some(()))
        }
    })
    .await?;
    Ok(driver)
}

impl Browser {
    /// Starts chromedriver and a Chromium session with `profile` (binary from
    /// `CHROMIUM`, default `/usr/bin/chromium`), and installs the
    /// instrumentation script in every future document.
    pub async fn start(profile: Profile) -> anyhow::Result<Browser> {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        anyhow::ensure!(
            Path::new(&chromium).is_file(),
            "Chromium not found at {chromium} (set CHROMIUM, or `apt-get install chromium chromium-driver`)"
        );
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("HTTP client")?;
        let driver = start_driver(&http).await?;
        let user_data = tempfile::tempdir().context("Chromium user data dir")?;
        let mut options = json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,800",
                format!("--user-data-dir={}", user_data.path().display()),
            ],
        });
        if profile == Profile::Mobile {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3, "touch": true},
                "userAgent": IPHONE_UA,
            });
        }
        let mut caps = Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .with_context(|| format!("starting a Chromium session ({chromium}) through chromedriver"))?;
        let session = client.session_id().await?.context("chromedriver gave no session id")?;
        let main_window = client.window().await?;
        let browser = Browser {
            client,
            driver,
            session,
            main_window,
            profile,
            http,
            _user_data: user_data,
        };
        browser.add_init_script(INSTRUMENTATION).await?;
        Ok(browser)
    }

    /// The WebDriver client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The profile this browser emulates.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The handle of the first window (the shop's tab).
    pub fn main_window(&self) -> &WindowHandle {
        &self.main_window
    }

    /// Runs a Chrome DevTools Protocol command on the current window
    /// (chromedriver's `goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        let url = format!("{}/session/{}/goog/cdp/execute", self.driver.url, self.session);
        let resp = self
            .http
            .post(&url)
            .json(&json!({"cmd": cmd, "params": params}))
            .send()
            .await
            .with_context(|| format!("CDP {cmd}"))?;
        let status = resp.status();
        let v: Value = resp.json().await.with_context(|| format!("CDP {cmd} answer"))?;
        anyhow::ensure!(status.is_success(), "CDP {cmd}: {status} {v}");
        Ok(v["value"].clone())
    }

    /// Evaluates `source` in every document the current window loads from
    /// now on (all frames), before the document's own scripts.
    pub async fn add_init_script(&self, source: &str) -> anyhow::Result<()> {
        self.cdp("Page.addScriptToEvaluateOnNewDocument", json!({"source": source}))
            .await?;
        Ok(())
    }

    /// Runs `source` in the current document now AND in every document loaded
    /// from now on (see [`Browser::add_init_script`]); it must be idempotent.
    pub async fn inject(&self, source: &str) -> anyhow::Result<()> {
        self.add_init_script(source).await?;
        self.client.execute(source, vec![]).await?;
        Ok(())
    }

    /// chromedriver's browser log (every console message since the last
    /// call, across navigations).
    pub async fn browser_log(&self) -> anyhow::Result<Vec<Value>> {
        let url = format!("{}/session/{}/se/log", self.driver.url, self.session);
        let resp = self
            .http
            .post(&url)
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .context("reading the browser log")?;
        let v: Value = resp.json().await.context("browser log answer")?;
        match &v["value"] {
            Value::Array(a) => Ok(a.clone()),
            other => anyhow::bail!("browser log is not a list: {other}"),
        }
    }

    /// Saves `screenshot.png`, `console.log` (chromedriver's browser log plus
    /// the page's `window.__consoleLog` and state history) and `page.html`
    /// into `dir`; returns the paths written.
    pub async fn save_evidence(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut written = Vec::new();
        // A popup may be the current window; the shop's tab is what matters.
        let _ = self.client.switch_to_window(self.main_window.clone()).await;
        let _ = self.client.enter_parent_frame().await;
        if let Ok(png) = self.client.screenshot().await {
            let path = dir.join("screenshot.png");
            std::fs::write(&path, png)?;
            written.push(path);
        }
        let mut log = String::new();
        if let Ok(url) = self.client.current_url().await {
            log.push_str(&format!("URL: {url}\n"));
        }
        match self.browser_log().await {
            Ok(lines) => {
                log.push_str("== chromedriver browser log ==\n");
                for l in lines {
                    log.push_str(&format!(
                        "{} {} {}\n",
                        l["timestamp"],
                        l["level"].as_str().unwrap_or(""),
                        l["message"].as_str().unwrap_or("")
                    ));
                }
            }
            Err(e) => log.push_str(&format!("(no chromedriver browser log: {e:#})\n")),
        }
        let page = self
            .client
            .execute(
                "return {log: window.__consoleLog || [], states: window.__states || [], \
                 billing: window.__billingStates || [], charge: window.__chargeStates || [], \
                 html: document.documentElement ? document.documentElement.outerHTML : ''}",
                vec![],
            )
            .await;
        match page {
            Ok(v) => {
                log.push_str("== window.__consoleLog (current document) ==\n");
                for l in v["log"].as_array().into_iter().flatten() {
                    log.push_str(l.as_str().unwrap_or(""));
                    log.push('\n');
                }
                log.push_str(&format!(
                    "== state history ==\ncheckout: {}\nbilling: {}\ncharge: {}\n",
                    v["states"], v["billing"], v["charge"]
                ));
                let path = dir.join("page.html");
                std::fs::write(&path, v["html"].as_str().unwrap_or(""))?;
                written.push(path);
            }
            Err(e) => log.push_str(&format!("(page not readable: {e})\n")),
        }
        let path = dir.join("console.log");
        std::fs::write(&path, log)?;
        written.push(path);
        Ok(written)
    }

    /// Ends the session and stops chromedriver.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.close()).await;
        let mut driver = self.driver;
        let _ = driver.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), driver.child.wait()).await;
    }
}
