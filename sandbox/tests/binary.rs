//! The `portone-sandbox` binary: starts, prints its settings (secrets included), serves.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The child this test started, killed by its own handle on drop (also on panic).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_its_settings_and_serves_the_rest_api() {
    let child = Command::new(env!("CARGO_BIN_EXE_portone-sandbox"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--api-secret",
            "bin-secret",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
            "--toss-secret-key",
            "bin-toss-secret",
            "--v1-imp-secret",
            "bin-imp-secret",
        ])
        .env_remove("SANDBOX_ADDR")
        .env("SANDBOX_ALLOW_EXTERNAL_WEBHOOKS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut child = Guard(child);
    let stdout = child.0.stdout.take().expect("stdout");
    // Read the banner on a thread; lines arrive through a channel with a deadline.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut banner = Vec::new();
    while !banner.iter().any(|l: &String| l.contains("admin API")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => banner.push(l),
            Err(e) => panic!("no complete banner ({e}): {banner:?}"),
        }
    }
    let text = banner.join("\n");
    let base = banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("base URL").map(|u| u.trim().to_owned()))
        .expect("base URL line");
    {
        assert!(text.contains("bin-secret"), "prints the API secret");
        assert!(text.contains("whsec_"), "prints the webhook secret");
        assert!(text.contains("channel-key-sandbox-tosspay") && text.contains("channel-key-sandbox-card"));
        assert!(text.contains("http://127.0.0.1:9/hook"));
        assert!(text.contains("/toss/v2/standard"), "prints the Toss SDK URL: {text}");
        assert!(
            text.contains("Toss client key test_ck_"),
            "prints the Toss client key: {text}"
        );
        assert!(
            text.contains("bin-toss-secret") && text.contains("bin-toss-secret:"),
            "prints the Toss secret key and its Basic form: {text}"
        );
        assert!(text.contains("/v1/iamport.js"), "prints the V1 SDK URL: {text}");
        assert!(text.contains("imp00000000"), "prints the V1 user code");
        assert!(text.contains("sandbox-imp-key") && text.contains("bin-imp-secret"));
        assert!(
            text.contains("any http(s) host"),
            "SANDBOX_ALLOW_EXTERNAL_WEBHOOKS=1 allows external noticeUrls: {text}"
        );
        let http = reqwest::Client::builder().no_proxy().build().expect("client");
        let res = http
            .get(format!("{base}/payments/nope"))
            .header("authorization", "PortOne bin-secret")
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 404);
        let res = http
            .get(format!("{base}/payments/nope"))
            .header("authorization", "PortOne sandbox-api-secret")
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 401, "the flag replaced the default secret");
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode("bin-toss-secret:");
        let res = http
            .get(format!("{base}/toss/v1/payments/nope"))
            .header("authorization", format!("Basic {basic}"))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 404, "the Toss secret key flag is in effect");
        let res = http
            .post(format!("{base}/iamport/users/getToken"))
            .form(&[("imp_key", "sandbox-imp-key"), ("imp_secret", "bin-imp-secret")])
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200, "--v1-imp-secret is the V1 secret");
    }
    drop(child);
}
