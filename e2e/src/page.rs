//! Helpers for the demo shop's DOM contract and the sandbox PG window.

use std::time::Duration;

use anyhow::Context as _;
use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser::{Browser, Profile};
use crate::services::Services;
use crate::{wait_for, DEADLINE};

/// How the sandbox shows its PG window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgWindow {
    /// The PC default: an iframe overlay on the shop page.
    Iframe,
    /// PC with `?window=popup`: a separate window.
    Popup,
    /// Mobile: the whole page navigates to the window and comes back.
    Redirect,
}

/// What the shopper does in the PG window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgAction {
    /// `[data-testid="sandbox-approve"]`.
    Approve,
    /// `[data-testid="sandbox-decline"]`.
    Decline,
    /// `[data-testid="sandbox-cancel"]`.
    Cancel,
    /// Popup only: close the popup window without choosing.
    ClosePopup,
    /// Only wait until the window is showing (e.g. to let it expire).
    Wait,
}

impl PgAction {
    fn testid(self) -> Option<&'static str> {
        match self {
            PgAction::Approve => Some("sandbox-approve"),
            PgAction::Decline => Some("sandbox-decline"),
            PgAction::Cancel => Some("sandbox-cancel"),
            PgAction::ClosePopup | PgAction::Wait => None,
        }
    }
}

/// The page helpers of one scenario (borrowed from [`crate::Env::page`]).
pub struct Page<'a> {
    browser: &'a Browser,
    services: &'a Services,
}

/// The index in `window.frames` of the sandbox's iframe, or `null`.
const FRAME_INDEX_JS: &str = "var f = document.querySelector('iframe[data-testid=\"sandbox-iframe\"]'); \
     if (!f) return null; \
     for (var i = 0; i < window.frames.length; i++) { if (window.frames[i] === f.contentWindow) return i; } \
     return null;";

const ATTR_JS: &str = "var e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;";

impl<'a> Page<'a> {
    /// Binds the helpers to a browser and services.
    pub fn new(browser: &'a Browser, services: &'a Services) -> Page<'a> {
        Page { browser, services }
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the current document.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        Ok(self.browser.client().execute(script, args).await?)
    }

    /// Navigates to `path_and_query` on the shop's origin.
    pub async fn goto(&self, path_and_query: &str) -> anyhow::Result<()> {
        let url = format!("{}{path_and_query}", self.services.shop_url());
        self.browser
            .client()
            .goto(&url)
            .await
            .with_context(|| format!("opening {url}"))?;
        Ok(())
    }

    /// Opens the shop (`/` + `query`, e.g. `"?window=popup"`) and waits until
    /// the products and the checkout are rendered.
    pub async fn open_shop(&self, query: &str) -> anyhow::Result<()> {
        self.open_shop_at("/", query).await
    }

    /// Opens the shop at `path` (`/` or `""` for PortOne V2, `/v1` for
    /// PortOne V1, `/toss/` for Toss Payments) with `query` and waits until
    /// the products and the checkout are rendered.
    pub async fn open_shop_at(&self, path: &str, query: &str) -> anyhow::Result<()> {
        let base = if path.ends_with('/') {
            path.to_owned()
        } else {
            format!("{path}/")
        };
        self.goto(&format!("{base}{query}")).await?;
        wait_for("the shop's products and checkout to render", DEADLINE, || async {
            let v = self
                .js(
                    "return document.querySelectorAll('[data-testid=\"product\"]').length > 0 && \
                     !!document.querySelector('[data-testid=\"checkout-status\"]') && \
                     !!document.querySelector('[data-testid=\"checkout-pay\"]');",
                    vec![],
                )
                .await?;
            Ok((v == true).then_some(()))
        })
        .await
    }

    /// The product ids shown, in page order.
    pub async fn product_ids(&self) -> anyhow::Result<Vec<String>> {
        let v = self
            .js(
                "return Array.from(document.querySelectorAll('[data-testid=\"product\"]')).map(function (e) { \
                 return e.getAttribute('data-product-id'); });",
                vec![],
            )
            .await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect())
    }

    /// Clicks the first element matching `css`, waiting until it exists.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let el = self
            .browser
            .client()
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting for {css}"))?;
        el.click().await.with_context(|| format!("clicking {css}"))?;
        Ok(())
    }

    /// Adds one `product_id` to the cart and waits until the cart total changed.
    pub async fn add_to_cart(&self, product_id: &str) -> anyhow::Result<()> {
        let before = self.cart_amount().await?;
        self.click(&format!(
            "[data-testid=\"product\"][data-product-id=\"{product_id}\"] [data-testid=\"product-add\"]"
        ))
        .await?;
        wait_for("the cart total to change", DEADLINE, || async {
            let now = self.cart_amount().await?;
            Ok((now != before).then_some(()))
        })
        .await
    }

    /// The cart total's `data-amount`.
    pub async fn cart_amount(&self) -> anyhow::Result<Option<i64>> {
        let v = self.attr("[data-testid=\"cart-total\"]", "data-amount").await?;
        Ok(v.and_then(|s| s.trim().parse().ok()))
    }

    /// An attribute of the first element matching `css` (`None` if either is absent).
    pub async fn attr(&self, css: &str, name: &str) -> anyhow::Result<Option<String>> {
        let v = self.js(ATTR_JS, vec![json!(css), json!(name)]).await?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// The checkout's `data-state`.
    pub async fn state(&self) -> anyhow::Result<Option<String>> {
        self.attr("[data-testid=\"checkout-status\"]", "data-state").await
    }

    /// The checkout's `data-payment-id`.
    pub async fn payment_id(&self) -> anyhow::Result<Option<String>> {
        self.attr("[data-testid=\"checkout-status\"]", "data-payment-id").await
    }

    /// Waits for the order's `data-payment-id` to appear.
    pub async fn wait_payment_id(&self) -> anyhow::Result<String> {
        wait_for("data-payment-id on the checkout status", DEADLINE, || self.payment_id()).await
    }

    /// The visible text of `[data-testid="checkout-error"]`, if present.
    pub async fn error_text(&self) -> anyhow::Result<Option<String>> {
        self.text("[data-testid=\"checkout-error\"]").await
    }

    /// The `innerText` of the first element matching `css`, if present.
    pub async fn text(&self, css: &str) -> anyhow::Result<Option<String>> {
        let v = self
            .js(
                "var e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                vec![json!(css)],
            )
            .await?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// Every checkout `data-state` the current document went through, in
    /// order (recorded by the instrumentation script).
    pub async fn states_seen(&self) -> anyhow::Result<Vec<String>> {
        self.history("__states").await
    }

    /// Like [`Page::states_seen`] for `billing-status` (`__billingStates`) or
    /// `billing-charge-status` (`__chargeStates`).
    pub async fn history(&self, var: &str) -> anyhow::Result<Vec<String>> {
        let v = self.js("return window[arguments[0]] || [];", vec![json!(var)]).await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect())
    }

    /// Waits until `data-state` of `[data-testid=<testid>]` is one of `wanted`;
    /// the error names the last state seen and the error text.
    pub async fn wait_testid_state(&self, testid: &str, wanted: &[&str], deadline: Duration) -> anyhow::Result<String> {
        let css = format!("[data-testid=\"{testid}\"]");
        let start = std::time::Instant::now();
        let mut last: Option<String> = None;
        loop {
            if let Ok(s) = self.attr(&css, "data-state").await {
                if let Some(s) = &s {
                    if wanted.contains(&s.as_str()) {
                        return Ok(s.clone());
                    }
                }
                last = s;
            }
            if start.elapsed() >= deadline {
                let error = self.error_text().await.ok().flatten();
                let url = self.browser.client().current_url().await.map(|u| u.to_string()).ok();
                anyhow::bail!(
                    "timed out after {deadline:?} waiting for {testid} data-state in {wanted:?}; last state {last:?}, \
                     error text {error:?}, URL {url:?}"
                );
            }
            tokio::time::sleep(crate::POLL).await;
        }
    }

    /// Waits until the checkout's `data-state` is one of `wanted`.
    pub async fn wait_state(&self, wanted: &[&str]) -> anyhow::Result<String> {
        self.wait_testid_state("checkout-status", wanted, DEADLINE).await
    }

    /// Whether the pay button is enabled (present, not disabled).
    pub async fn pay_enabled(&self) -> anyhow::Result<bool> {
        let v = self
            .js(
                "var b = document.querySelector('[data-testid=\"checkout-pay\"]'); return !!b && !b.disabled;",
                vec![],
            )
            .await?;
        Ok(v == true)
    }

    /// Waits for the pay button to be enabled and clicks it.
    pub async fn pay(&self) -> anyhow::Result<()> {
        wait_for("the pay button to be enabled", DEADLINE, || async {
            Ok(self.pay_enabled().await?.then_some(()))
        })
        .await?;
        self.click("[data-testid=\"checkout-pay\"]").await
    }

    /// The PG window kind for this browser's profile (`popup`: the page was
    /// opened with `?window=popup`).
    pub fn pg_window(&self, popup: bool) -> PgWindow {
        match (self.browser.profile(), popup) {
            (Profile::Mobile, _) => PgWindow::Redirect,
            (Profile::Pc, true) => PgWindow::Popup,
            (Profile::Pc, false) => PgWindow::Iframe,
        }
    }

    /// Waits for the sandbox PG window (`kind`) to show its buttons and does
    /// `action` in it. Leaves the WebDriver focus on the shop's tab (for
    /// [`PgWindow::Redirect`] the tab is then on its way back to the shop,
    /// unless `action` is [`PgAction::Wait`]).
    pub async fn pg(&self, kind: PgWindow, action: PgAction) -> anyhow::Result<()> {
        let client = self.browser.client();
        match kind {
            PgWindow::Iframe => {
                // By index, not by element reference: WebKitWebDriver enters
                // a frame only by its index in `window.frames`.
                let index = wait_for("the sandbox's iframe overlay", DEADLINE, || async {
                    let v = self.js(FRAME_INDEX_JS, vec![]).await?;
                    Ok(v.as_u64())
                })
                .await?;
                let index = u16::try_from(index).context("frame index")?;
                client
                    .enter_frame(Some(index))
                    .await
                    .context("entering the PG iframe")?;
                let res = self.pg_buttons(action).await;
                client.enter_frame(None).await.context("leaving the PG iframe")?;
                res
            }
            PgWindow::Popup => {
                let main = self.browser.main_window().clone();
                let popup = wait_for("the PG popup to open", DEADLINE, || async {
                    let windows = client.windows().await?;
                    Ok(windows.into_iter().find(|w| *w != main))
                })
                .await?;
                client
                    .switch_to_window(popup.clone())
                    .await
                    .context("switching to the popup")?;
                let res = match action {
                    PgAction::ClosePopup => match self.wait_buttons().await {
                        Ok(()) => client.close_window().await.context("closing the popup").map(|_| ()),
                        Err(e) => Err(e),
                    },
                    // The popup closes itself after a choice: a click that races
                    // the close is fine.
                    _ => match self.pg_buttons(action).await {
                        Err(_) if !client.windows().await?.contains(&popup) => Ok(()),
                        other => other,
                    },
                };
                client
                    .switch_to_window(main)
                    .await
                    .context("switching back to the shop")?;
                res
            }
            PgWindow::Redirect => {
                let prefix = format!("{}/__sandbox/window/", self.services.sandbox_url());
                wait_for("the tab to navigate to the PG page", DEADLINE, || async {
                    let url = client.current_url().await?;
                    Ok(url.as_str().starts_with(&prefix).then_some(()))
                })
                .await?;
                anyhow::ensure!(action != PgAction::ClosePopup, "there is no popup on mobile");
                self.pg_buttons(action).await
            }
        }
    }

    async fn wait_buttons(&self) -> anyhow::Result<()> {
        self.browser
            .client()
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css("[data-testid=\"sandbox-approve\"]"))
            .await
            .context("waiting for the PG window's buttons")?;
        Ok(())
    }

    async fn pg_buttons(&self, action: PgAction) -> anyhow::Result<()> {
        self.wait_buttons().await?;
        if let Some(testid) = action.testid() {
            let el = self
                .browser
                .client()
                .find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
                .await
                .with_context(|| format!("finding {testid}"))?;
            el.click().await.with_context(|| format!("clicking {testid}"))?;
        }
        Ok(())
    }

    /// The current URL of the shop's tab.
    pub async fn url(&self) -> anyhow::Result<url::Url> {
        Ok(self.browser.client().current_url().await?)
    }

    /// Waits until the tab is back on the shop's origin (after a redirect flow).
    pub async fn wait_back_on_shop(&self) -> anyhow::Result<url::Url> {
        let shop = self.services.shop_url();
        wait_for("the tab to return to the shop", DEADLINE, || async {
            let url = self.url().await?;
            Ok(url.as_str().starts_with(&shop).then_some(url))
        })
        .await
    }
}
