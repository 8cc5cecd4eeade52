//! Compatibility proof for the V1 REST stand-in: PortOne's official, independently
//! written V1 client for Python (`iamport-rest-client` on PyPI, MIT) works against
//! the sandbox unchanged, only its base URL pointed at `<sandbox>/iamport/`.
//!
//! Needs `python3` (with `venv`). When `import iamport` fails with the system
//! interpreter, the client is installed from PyPI into a venv under
//! `target/tmp/`, so the test runs on a fresh machine. It FAILS (never skips)
//! when that cannot be done, saying what to install.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/v1_python/iamport_client_check.py");

fn run(cmd: &mut Command, what: &str, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start ({e})"));
    let deadline = Instant::now() + timeout;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn imports_iamport(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import iamport"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python interpreter that can `import iamport`, installing the client into
/// a venv under the target directory when needed.
fn python_with_client() -> PathBuf {
    let system = PathBuf::from(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    let version = Command::new(&system).arg("--version").output();
    if !version.as_ref().is_ok_and(|o| o.status.success()) {
        panic!(
            "python3 is required for the PortOne V1 client compatibility test \
             (apt-get install python3 python3-venv, or set PYTHON): {version:?}"
        );
    }
    if imports_iamport(&system) {
        return system;
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("v1-python-venv");
    let python = venv.join("bin").join("python");
    if imports_iamport(&python) {
        return python;
    }
    if !python.exists() {
        let out = run(
            Command::new(&system).args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
            Duration::from_secs(300),
        );
        assert!(
            out.status.success(),
            "could not create a venv at {} (apt-get install python3-venv): {}",
            venv.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "iamport-rest-client",
        ]),
        "pip install iamport-rest-client",
        Duration::from_secs(600),
    );
    assert!(
        out.status.success() && imports_iamport(&python),
        "could not install the PortOne V1 Python client: run `pip install iamport-rest-client` \
         (needs PyPI) or `{} -m pip install iamport-rest-client`: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    python
}

fn ok<'a>(out: &'a Value, call: &str) -> &'a Value {
    out[call]
        .get("ok")
        .unwrap_or_else(|| panic!("{call} should succeed: {}", out[call]))
}

fn err<'a>(out: &'a Value, call: &str, kind: &str, code: i64) -> &'a Value {
    let e = &out[call];
    assert_eq!(
        (e["error"].as_str(), e["code"].as_i64()),
        (Some(kind), Some(code)),
        "{call}: {e}"
    );
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_v1_client_works_against_the_sandbox_unchanged() {
    let python = tokio::task::spawn_blocking(python_with_client).await.expect("setup");
    let sb = start().await;
    let (hook, hook_url) = webhook_receiver(vec![]).await;
    let mut params = v1_params("py-order-1", 12000);
    params["notice_url"] = json!(hook_url);
    let (s, paid) = v1_pay(&sb, params, "approve").await;
    assert_eq!(s, 200, "{paid}");
    let mut billing = v1_billing_params("py-cust-1", "py-issue-1");
    billing["notice_url"] = json!(hook_url);
    let (s, issued) = v1_pay(&sb, billing, "approve").await;
    assert_eq!(s, 200, "{issued}");
    let c = sb.config().clone();
    let cfg = json!({
        "base_url": sb.base_url(),
        "imp_key": c.v1_imp_key,
        "imp_secret": c.v1_imp_secret,
        "imp_uid": paid["imp_uid"],
        "merchant_uid": "py-order-1",
        "customer_uid": "py-cust-1",
    });
    let output = tokio::task::spawn_blocking(move || {
        run(
            Command::new(&python)
                .arg(SCRIPT)
                .arg(cfg.to_string())
                .env("NO_PROXY", "127.0.0.1,localhost")
                .env("no_proxy", "127.0.0.1,localhost")
                .env("PYTHONIOENCODING", "utf-8"),
            "the Python client script",
            Duration::from_secs(120),
        )
    })
    .await
    .expect("script");
    assert!(
        output.status.success(),
        "script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "script output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });

    // Payments.
    let p = ok(&out, "find_by_imp_uid");
    assert_eq!(
        (p["imp_uid"].clone(), p["status"].as_str(), p["amount"].as_i64()),
        (paid["imp_uid"].clone(), Some("paid"), Some(12000))
    );
    assert_eq!(ok(&out, "find_by_merchant_uid")["imp_uid"], paid["imp_uid"]);
    err(&out, "find_missing", "HttpError", 404);
    assert_eq!(ok(&out, "is_paid"), &json!(true));
    assert_eq!(ok(&out, "is_paid_other_amount"), &json!(false));
    assert_eq!(
        ok(&out, "prepare"),
        &json!({"merchant_uid": "py-order-2", "amount": 5000})
    );
    assert_eq!(ok(&out, "prepare_validate"), &json!(true));
    assert_eq!(ok(&out, "prepare_validate_other"), &json!(false));
    err(&out, "prepare_again", "ResponseError", 1);

    // Cancels.
    let p = ok(&out, "cancel_partial");
    assert_eq!(
        (p["status"].as_str(), p["cancel_amount"].as_i64()),
        (Some("paid"), Some(2000))
    );
    err(&out, "cancel_stale_checksum", "ResponseError", 1);
    let p = ok(&out, "cancel_rest");
    assert_eq!(
        (p["status"].as_str(), p["cancel_amount"].as_i64()),
        (Some("cancelled"), Some(12000))
    );
    let e = err(&out, "cancel_missing", "ResponseError", 1);
    assert_eq!(e["message"], "취소할 결제건이 존재하지 않습니다.");

    // Billing key, charges, schedules.
    let cust = ok(&out, "customer_get");
    assert_eq!(
        (cust["customer_uid"].as_str(), cust["pg_provider"].as_str()),
        (Some("py-cust-1"), Some("tosspay_v2"))
    );
    let p = ok(&out, "pay_again");
    assert_eq!((p["status"].as_str(), p["amount"].as_i64()), (Some("paid"), Some(9900)));
    assert_eq!(p["customer_uid_usage"], "payment");
    err(&out, "pay_again_unknown_customer", "ResponseError", -1);
    let list = ok(&out, "pay_schedule").as_array().expect("schedules").clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["schedule_status"], "scheduled");
    assert_eq!(ok(&out, "pay_schedule_get")["merchant_uid"], "py-sched-1");
    assert_eq!(ok(&out, "pay_schedule_get_between")["total"], 2);
    assert_eq!(ok(&out, "pay_unschedule")[0]["merchant_uid"], "py-sched-2");
    err(&out, "pay_unschedule_again", "ResponseError", 1);
    assert_eq!(ok(&out, "customer_delete")["customer_uid"], "py-cust-1");
    err(&out, "customer_get_deleted", "HttpError", 404);

    // What the client did is what the sandbox now holds, and the webhooks went out.
    let token = v1_token(&sb).await;
    let (_, v) = v1_call(&sb, &token, "GET", "/subscribe/payments/schedule/py-sched-1", None).await;
    assert_eq!(
        v["response"]["schedule_status"], "revoked",
        "deleting the customer revoked it"
    );
    let (_, v) = v1_call(&sb, &token, "GET", "/payments/find/py-again-1", None).await;
    assert_eq!(v["response"]["status"], "paid");
    wait_for(
        Duration::from_secs(10),
        "paid, issue, again and cancel webhooks",
        || {
            let got: Vec<Value> = hook.received().iter().map(|r| r.json()).collect();
            async move {
                let has = |m: &str, s: &str| got.iter().any(|b| b["merchant_uid"] == m && b["status"] == s);
                (has("py-order-1", "paid")
                    && has("py-issue-1", "paid")
                    && has("py-again-1", "paid")
                    && has("py-order-1", "cancelled"))
                .then_some(())
            }
        },
    )
    .await;
    sb.shutdown().await;
}
