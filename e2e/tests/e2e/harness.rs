//! The harness itself: services, both browser profiles, the engine, the
//! scripts before the app, evidence.

use e2e::{run, Engine, Env, Profile};
use serde_json::json;

async fn sandbox_sdk_loads_and_evidence_can_be_saved(env: &mut Env) -> anyhow::Result<()> {
    // The demo is served at / (SPA fallback) and the API answers.
    let (status, config) = env.services.api("GET", "/api/config", None).await?;
    anyhow::ensure!(status == 200, "/api/config: {status} {config}");
    anyhow::ensure!(
        config["sdkUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with(&env.services.sandbox_url())),
        "the SDK comes from the sandbox: {config}"
    );
    let page = env.page();
    page.goto("/__e2e_harness_check").await?;
    let html = page.js("return document.documentElement.outerHTML;", vec![]).await?;
    anyhow::ensure!(
        html.as_str().is_some_and(|h| h.contains("<html")),
        "index.html served: {html}"
    );
    // The instrumentation script runs in every document.
    let v = page
        .js(
            "return window.__e2e === true && Array.isArray(window.__states);",
            vec![],
        )
        .await?;
    anyhow::ensure!(v == true, "instrumentation installed");
    page.js("console.log('harness log line');", vec![]).await?;
    // The sandbox SDK stand-in loads on the shop's origin and opens a window.
    let sdk = config["sdkUrl"].as_str().unwrap_or_default().to_owned();
    page.js(
        "var s = document.createElement('script'); s.src = arguments[0]; document.head.appendChild(s);",
        vec![json!(sdk)],
    )
    .await?;
    e2e::wait_for("window.PortOne", e2e::DEADLINE, || async {
        Ok((page.js("return !!window.PortOne;", vec![]).await? == true).then_some(()))
    })
    .await?;
    // Evidence capture works (into a scratch folder, not artifacts/).
    let dir = tempfile::tempdir()?;
    let files = env.browser.save_evidence(dir.path()).await?;
    anyhow::ensure!(files.iter().any(|f| f.ends_with("screenshot.png")), "{files:?}");
    let log = std::fs::read_to_string(dir.path().join("console.log"))?;
    anyhow::ensure!(log.contains("harness log line"), "console captured: {log}");
    let ua = page.js("return navigator.userAgent;", vec![]).await?;
    let mobile = ua
        .as_str()
        .is_some_and(|u| u.contains("iPhone") && u.contains("Mobile"));
    anyhow::ensure!(mobile == (env.profile() == Profile::Mobile), "profile UA: {ua}");
    // A phone-sized viewport on mobile (the narrowest window MiniBrowser
    // allows is 447 px wide, Firefox's 500 px), a desktop one on PC.
    let width = page.js("return window.innerWidth;", vec![]).await?;
    let width = width.as_u64().unwrap_or(0);
    match env.profile() {
        Profile::Mobile => anyhow::ensure!((300..=500).contains(&width), "mobile viewport width {width}"),
        Profile::Pc => anyhow::ensure!(width >= 1024, "PC viewport width {width}"),
    }
    // The engine is the one E2E_ENGINE names (the user agent may be an
    // iPhone's in any engine; `navigator.vendor` is the engine's own).
    let vendor = page.js("return navigator.vendor;", vec![]).await?;
    let expected = match env.engine() {
        Engine::Chromium => "Google Inc.",
        Engine::Firefox => "",
        Engine::Webkit => "Apple Computer, Inc.",
    };
    anyhow::ensure!(
        vendor == json!(expected),
        "{:?} runs: navigator.vendor is {vendor}",
        env.engine()
    );
    Ok(())
}

#[tokio::test]
async fn the_harness_serves_the_demo_loads_the_sandbox_sdk_and_saves_evidence_on_pc() {
    run("harness", Profile::Pc, sandbox_sdk_loads_and_evidence_can_be_saved).await;
}

#[tokio::test]
async fn the_harness_serves_the_demo_loads_the_sandbox_sdk_and_saves_evidence_on_mobile() {
    run("harness", Profile::Mobile, sandbox_sdk_loads_and_evidence_can_be_saved).await;
}
