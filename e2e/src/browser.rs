//! One browser session per scenario, in the engine `E2E_ENGINE` names
//! (Chromium, Firefox or WebKit), through that engine's own WebDriver server
//! (chromedriver, geckodriver, WebKitWebDriver), PC or mobile profile.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Map, Value};

use crate::inject::InitScripts;
use crate::wait_for;

/// The user agent of the mobile profile (iPhone Safari).
pub const IPHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                             (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// Put into every document before its own scripts (see [`crate::inject`]):
/// records the console (`window.__consoleLog`), uncaught errors, and every
/// `data-state` the checkout, billing and charge status regions take
/// (`window.__states`, `window.__billingStates`, `window.__chargeStates`).
pub(crate) const INSTRUMENTATION: &str = r#"(function () {
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

/// The browser engine the scenarios run in, chosen once per test process by
/// `E2E_ENGINE` (`chromium`, the default, `firefox` or `webkit`). Every
/// scenario runs in it: `cargo xtask test` runs `cargo test -p e2e` once per
/// engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Chromium (Chrome, Samsung Internet, Edge) through chromedriver.
    Chromium,
    /// Firefox (ESR) through geckodriver.
    Firefox,
    /// WebKit (Safari's engine; every browser on an iPhone): WebKitGTK's
    /// MiniBrowser through WebKitWebDriver, on an X display (Xvfb).
    Webkit,
}

impl Engine {
    /// Every engine, in the order `cargo xtask test` runs them.
    pub const ALL: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::Webkit];

    /// Parses an `E2E_ENGINE` value.
    pub fn parse(s: &str) -> anyhow::Result<Engine> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "chromium" | "chrome" => Ok(Engine::Chromium),
            "firefox" | "gecko" => Ok(Engine::Firefox),
            "webkit" | "safari" => Ok(Engine::Webkit),
            other => anyhow::bail!("E2E_ENGINE={other:?}: expected chromium, firefox or webkit"),
        }
    }

    /// The engine `E2E_ENGINE` names (Chromium when unset); an unknown name
    /// is an error, never a silent fallback.
    pub fn from_env() -> anyhow::Result<Engine> {
        Engine::parse(&std::env::var("E2E_ENGINE").unwrap_or_default())
    }

    /// `chromium`, `firefox` or `webkit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::Webkit => "webkit",
        }
    }
}

/// The browser profile of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Desktop, 1280x800.
    Pc,
    /// A phone: an iPhone Safari user agent and a phone-sized window (in
    /// Chromium also `mobileEmulation`'s touch and pixel ratio).
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

/// A child process this harness started (a WebDriver server, Xvfb); killed
/// by its own handle on drop.
struct Child(tokio::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// A WebDriver server this harness started.
struct Driver {
    child: Child,
    url: String,
}

/// A browser session driven through a WebDriver server of its own.
pub struct Browser {
    client: Client,
    driver: Driver,
    engine: Engine,
    session: String,
    main_window: WindowHandle,
    profile: Profile,
    http: reqwest::Client,
    scripts: InitScripts,
    /// The browser's profile folder and the driver's log.
    dir: tempfile::TempDir,
    /// An X server of this browser's own (WebKit without `DISPLAY`); dropped
    /// last.
    _xvfb: Option<Child>,
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// An executable: `$var` if set, else the first of `names` on `PATH` (or in
/// cargo's bin folder), else the first of `defaults` that exists; the error
/// says how to get it.
fn locate(var: &str, names: &[&str], defaults: &[&str], install: &str) -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        let p = PathBuf::from(p);
        anyhow::ensure!(p.is_file(), "{var}={} does not exist ({install})", p.display());
        return Ok(p);
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME").or_else(|| {
        std::env::var_os("HOME").map(|h| {
            let mut h = PathBuf::from(h);
            h.push(".cargo");
            h.into_os_string()
        })
    }) {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .chain(defaults.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .with_context(|| format!("{} not found (set {var}; {install})", names[0]))
}

const CHROMIUM_INSTALL: &str = "`apt-get install chromium chromium-driver`, or `cargo xtask setup`";
const FIREFOX_INSTALL: &str = "`apt-get install firefox-esr` and `cargo install geckodriver`, or `cargo xtask setup`";
const WEBKIT_INSTALL: &str = "`apt-get install webkit2gtk-driver xvfb`, or `cargo xtask setup`";
const MINIBROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/// Starts Xvfb on the first free display (`-displayfd`); returns it and the
/// display (`:N`).
async fn start_xvfb(log: &Path) -> anyhow::Result<(Child, String)> {
    let bin = locate("XVFB", &["Xvfb"], &[], WEBKIT_INSTALL)?;
    let (mut reader, writer) = std::io::pipe().context("a pipe for Xvfb's display number")?;
    let child = tokio::process::Command::new(&bin)
        .args(["-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
        .stdout(Stdio::from(writer))
        .stderr(std::fs::File::create(log)?)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let child = Child(child);
    let read = tokio::task::spawn_blocking(move || {
        use std::io::Read as _;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while reader.read(&mut byte)? == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&line).trim().to_owned())
    });
    let n = tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .context("Xvfb did not report a display within 30 s")???;
    anyhow::ensure!(!n.is_empty(), "Xvfb exited without a display (see {})", log.display());
    Ok((child, format!(":{n}")))
}

async fn start_driver(
    http: &reqwest::Client,
    bin: &Path,
    args: &[String],
    env: &[(&str, String)],
    log: &Path,
) -> anyhow::Result<Driver> {
    let port = free_port()?;
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let child = tokio::process::Command::new(bin)
        .arg(format!("--port={port}"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let driver = Driver {
        child: Child(child),
        url: format!("http://127.0.0.1:{port}"),
    };
    let status = format!("{}/status", driver.url);
    wait_for(
        &format!("{} to report ready", bin.display()),
        Duration::from_secs(30),
        || {
            let req = http.get(&status).timeout(Duration::from_secs(2)).send();
            async move {
                let v: Value = req.await?.json().await?;
                Ok((v["value"]["ready"] == true).then_some(()))
            }
        },
    )
    .await?;
    Ok(driver)
}

/// What starting a session needs for one engine.
struct Launch {
    driver: PathBuf,
    driver_args: Vec<String>,
    driver_env: Vec<(&'static str, String)>,
    caps: Map<String, Value>,
    /// The window size to set once the session is up (`None`: set by the
    /// capabilities).
    window: Option<(u32, u32)>,
    xvfb: Option<Child>,
}

async fn launch(engine: Engine, profile: Profile, dir: &Path) -> anyhow::Result<Launch> {
    let mobile = profile == Profile::Mobile;
    let (width, height) = if mobile { (390, 844) } else { (1280, 800) };
    let mut caps = Map::new();
    match engine {
        Engine::Chromium => {
            let chromium = locate("CHROMIUM", &["chromium", "chromium-browser"], &[], CHROMIUM_INSTALL)?;
            let driver = locate("CHROMEDRIVER", &["chromedriver"], &[], CHROMIUM_INSTALL)?;
            let mut options = json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=1280,800",
                    format!("--user-data-dir={}", dir.join("profile").display()),
                ],
            });
            if mobile {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": {"width": width, "height": height, "pixelRatio": 3, "touch": true},
                    "userAgent": IPHONE_UA,
                });
            }
            caps.insert("goog:chromeOptions".into(), options);
            caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
            Ok(Launch {
                driver,
                driver_args: Vec::new(),
                driver_env: Vec::new(),
                caps,
                window: None,
                xvfb: None,
            })
        }
        Engine::Firefox => {
            let firefox = locate("FIREFOX", &["firefox-esr", "firefox"], &[], FIREFOX_INSTALL)?;
            let driver = locate("GECKODRIVER", &["geckodriver"], &[], FIREFOX_INSTALL)?;
            let mut prefs = json!({
                // The page's console goes to the driver's log (evidence).
                "devtools.console.stdout.content": true,
                // Nothing leaves loopback.
                "network.captive-portal-service.enabled": false,
                "network.connectivity-service.enabled": false,
                "browser.safebrowsing.malware.enabled": false,
                "browser.safebrowsing.phishing.enabled": false,
            });
            if mobile {
                prefs["general.useragent.override"] = json!(IPHONE_UA);
                prefs["dom.w3c_touch_events.enabled"] = json!(1);
            }
            caps.insert("browserName".into(), json!("firefox"));
            caps.insert(
                "moz:firefoxOptions".into(),
                json!({"binary": firefox, "args": ["-headless"], "prefs": prefs}),
            );
            Ok(Launch {
                driver,
                driver_args: Vec::new(),
                driver_env: Vec::new(),
                caps,
                window: Some((width, height)),
                xvfb: None,
            })
        }
        Engine::Webkit => {
            let driver = locate("WEBKIT_WEBDRIVER", &["WebKitWebDriver"], &[], WEBKIT_INSTALL)?;
            let minibrowser = locate("MINIBROWSER", &["MiniBrowser"], &[MINIBROWSER], WEBKIT_INSTALL)?;
            // MiniBrowser has no headless mode: it needs an X display.
            let (xvfb, display) = match std::env::var("DISPLAY") {
                Ok(d) if !d.is_empty() => (None, d),
                _ => {
                    let (child, display) = start_xvfb(&dir.join("xvfb.log")).await?;
                    (Some(child), display)
                }
            };
            let mut args = vec![
                "--automation".to_owned(),
                // The page's console goes to the driver's log (evidence).
                "--enable-write-console-messages-to-stdout=true".to_owned(),
            ];
            if mobile {
                // WebKitGTK's own setting: what Safari on an iPhone sends.
                args.push(format!("--user-agent={IPHONE_UA}"));
            }
            caps.insert(
                "webkitgtk:browserOptions".into(),
                json!({"binary": minibrowser, "args": args}),
            );
            Ok(Launch {
                driver,
                driver_args: vec!["--host=127.0.0.1".to_owned()],
                driver_env: vec![("DISPLAY", display)],
                caps,
                window: Some((width, height)),
                xvfb,
            })
        }
    }
}

impl Browser {
    /// Starts `engine`'s WebDriver server and a session with `profile`. Every
    /// document the session loads from the shop or the sandbox gets
    /// `scripts` first (the services' proxies put them in, see
    /// [`crate::inject`]).
    pub async fn start(engine: Engine, profile: Profile, scripts: InitScripts) -> anyhow::Result<Browser> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("HTTP client")?;
        let dir = tempfile::tempdir().context("browser temp dir")?;
        let launch = launch(engine, profile, dir.path()).await?;
        let driver = start_driver(
            &http,
            &launch.driver,
            &launch.driver_args,
            &launch.driver_env,
            &dir.path().join("driver.log"),
        )
        .await?;
        let client = ClientBuilder::native()
            .capabilities(launch.caps)
            .connect(&driver.url)
            .await
            .with_context(|| {
                format!(
                    "starting a {} session through {} (its log: {})",
                    engine.as_str(),
                    launch.driver.display(),
                    std::fs::read_to_string(dir.path().join("driver.log")).unwrap_or_default()
                )
            })?;
        if let Some((w, h)) = launch.window {
            client
                .set_window_rect(0, 0, w, h)
                .await
                .context("sizing the browser window")?;
        }
        let session = client.session_id().await?.context("the driver gave no session id")?;
        let main_window = client.window().await?;
        Ok(Browser {
            client,
            driver,
            engine,
            session,
            main_window,
            profile,
            http,
            scripts,
            dir,
            _xvfb: launch.xvfb,
        })
    }

    /// The WebDriver client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The engine this browser is.
    pub fn engine(&self) -> Engine {
        self.engine
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
    /// (chromedriver's `goog/cdp/execute`). Chromium only: every other engine
    /// gets an error, so a scenario must not need it (use
    /// [`Browser::add_init_script`] for scripts before the app).
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        anyhow::ensure!(
            self.engine == Engine::Chromium,
            "CDP {cmd}: the DevTools Protocol exists in Chromium only, this is {}",
            self.engine.as_str()
        );
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

    /// Evaluates `source` in every document loaded from now on from the shop
    /// or the sandbox (all frames and windows), before the document's own
    /// scripts, in every engine. It must be idempotent and check
    /// `location.origin` when it is meant for one origin.
    pub async fn add_init_script(&self, source: &str) -> anyhow::Result<()> {
        self.scripts.add(source);
        Ok(())
    }

    /// Runs `source` in the current document now AND in every document loaded
    /// from now on (see [`Browser::add_init_script`]); it must be idempotent.
    ///
    /// "Now" goes through a `<script>` element, not straight through
    /// WebDriver's Execute Script: Firefox runs those in a sandbox realm of
    /// its own, so a `fetch` wrapper installed that way calls the original
    /// with the sandbox's global as `this` and every page fetch throws.
    /// A `<script>` runs in the page's own realm in every engine.
    pub async fn inject(&self, source: &str) -> anyhow::Result<()> {
        self.add_init_script(source).await?;
        let ran = self
            .client
            .execute(
                "var s = document.createElement('script'); \
                 s.textContent = arguments[0] + '\\n;document.currentScript.setAttribute(\"data-ran\", \"1\");'; \
                 (document.head || document.documentElement).appendChild(s); \
                 var ran = s.getAttribute('data-ran') === '1'; s.remove(); return ran;",
                vec![json!(source)],
            )
            .await?;
        anyhow::ensure!(
            ran == true,
            "the injected script did not run in the page (a Content-Security-Policy, or it threw)"
        );
        Ok(())
    }

    /// chromedriver's browser log (every console message since the last
    /// call, across navigations). Chromium only; the other engines write the
    /// console into the driver's log (see [`Browser::save_evidence`]).
    pub async fn browser_log(&self) -> anyhow::Result<Vec<Value>> {
        anyhow::ensure!(
            self.engine == Engine::Chromium,
            "no browser log endpoint in {}",
            self.engine.as_str()
        );
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

    /// Saves `screenshot.png`, `console.log` (the browser's console as the
    /// engine reports it, plus the page's `window.__consoleLog` and state
    /// history), `driver.log` (the WebDriver server's and the browser's
    /// output) and `page.html` into `dir`; returns the paths written.
    pub async fn save_evidence(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut written = Vec::new();
        // A popup may be the current window; the shop's tab is what matters.
        let _ = self.client.switch_to_window(self.main_window.clone()).await;
        let _ = self.client.enter_frame(None).await;
        if let Ok(png) = self.client.screenshot().await {
            let path = dir.join("screenshot.png");
            std::fs::write(&path, png)?;
            written.push(path);
        }
        let mut log = format!("engine: {}, profile: {}\n", self.engine.as_str(), self.profile.as_str());
        if let Ok(url) = self.client.current_url().await {
            log.push_str(&format!("URL: {url}\n"));
        }
        if self.engine == Engine::Chromium {
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
        } else {
            log.push_str("== the browser's console: see driver.log ==\n");
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
        let driver_log = self.dir.path().join("driver.log");
        if driver_log.is_file() {
            let path = dir.join("driver.log");
            std::fs::copy(&driver_log, &path)?;
            written.push(path);
        }
        Ok(written)
    }

    /// Ends the session and stops the WebDriver server (and Xvfb, if this
    /// browser started one).
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.close()).await;
        let mut driver = self.driver;
        let _ = driver.child.0.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), driver.child.0.wait()).await;
        if let Some(mut x) = self._xvfb {
            let _ = x.0.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), x.0.wait()).await;
        }
    }
}
