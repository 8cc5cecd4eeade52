//! Headless Chromium for the browser suites (`tests/browser.rs`,
//! `tests/toss_browser.rs`, `tests/v1_browser.rs`): a chromedriver this test process starts (and
//! kills by its own handle), sessions with a PC or phone profile, and small
//! helpers. Included with `#[path]`, so it is not a test target itself.
// Each suite that includes this uses its own part of it.
#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Map, Value};

use super::common::client;

pub const IPHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                             (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// A chromedriver this test started; killed (by its own pid) on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn chromedriver() -> Driver {
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let port = free_port();
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromedriver at {bin}: {e}"));
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let status = format!("{}/status", driver.url);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client().get(&status).send().await {
            if let Ok(v) = r.json::<Value>().await {
                if v["value"]["ready"] == true {
                    break;
                }
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    driver
}

pub async fn browser(driver: &Driver, mobile: bool) -> Client {
    let mut opts = json!({
        "binary": std::env::var("CHROME_BIN")
            .or_else(|_| std::env::var("CHROMIUM"))
            .unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,900"],
    });
    if mobile {
        opts["mobileEmulation"] = json!({
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": true, "mobile": true},
            "userAgent": IPHONE_UA,
        });
    }
    let mut caps = Map::new();
    caps.insert("goog:chromeOptions".into(), opts);
    ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session (is chromium installed?)")
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits until the browser's page is at `path` (any origin), returning its URL.
pub async fn wait_for_path(c: &Client, path: &str) -> url::Url {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let u = c.current_url().await.unwrap();
        if u.path() == path {
            return u;
        }
        assert!(Instant::now() < deadline, "never reached {path} (at {u})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn query(u: &url::Url) -> std::collections::HashMap<String, String> {
    u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Waits until the page has come back to the merchant's `/return`.
pub async fn wait_for_return(c: &Client) -> url::Url {
    wait_for_path(c, "/return").await
}

/// Waits (up to 20 s) for the element `css` in the current frame. When it
/// never comes, the panic says why as far as the page can tell: the
/// WebDriver error, the page's URL, what the test page recorded of the
/// SDK's answer (`__done`, `__result`, `__rsp`, `__error`) and the start of the
/// page's text.
pub async fn element(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let url = c.current_url().await.map(|u| u.to_string());
            let page = c
                .execute(
                    "return JSON.stringify({done: window.__done ?? null, result: window.__result ?? null, \
                     rsp: window.__rsp ?? null, error: String(window.__error ?? ''), \
                     text: (document.body ? document.body.innerText : '').slice(0, 400)})",
                    vec![],
                )
                .await;
            panic!("no element {css}: {e}; page at {url:?}; page state {page:?}")
        }
    }
}

/// Waits (up to 10 s) for a window other than `main` (the popup the SDK
/// opened) and switches to it.
pub async fn switch_to_popup(c: &Client, main: &fantoccini::wd::WindowHandle) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let popup = loop {
        let windows = c.windows().await.unwrap();
        if let Some(w) = windows.into_iter().find(|w| w != main) {
            break w;
        }
        assert!(Instant::now() < deadline, "no popup opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    c.switch_to_window(popup).await.unwrap();
}

/// Clicks the button `testid` in the sandbox's overlay window (an iframe,
/// entered by index), then leaves the iframe.
pub async fn click_in_iframe(c: &Client, testid: &str) {
    element(c, "iframe[data-testid=sandbox-iframe]").await;
    c.enter_frame(Some(0)).await.unwrap();
    element(c, &format!("[data-testid={testid}]"))
        .await
        .click()
        .await
        .unwrap();
    c.enter_parent_frame().await.unwrap();
}

/// How many sandbox overlays the page shows.
pub async fn overlay_count(c: &Client) -> usize {
    c.find_all(Locator::Css("[data-testid=sandbox-overlay]"))
        .await
        .unwrap()
        .len()
}
