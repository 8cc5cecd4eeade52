//! The two processes under test: `portone-sandbox` (started once) and
//! `checkout-server` (SIGKILLed and restarted on the same address and
//! database), each logging to its own file in the run directory.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::process::{Child, Command};

/// How long a process may take to answer its first request.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// Paths of the binaries and the run directory.
#[derive(Clone, Debug)]
pub struct Setup {
    /// `portone-sandbox`.
    pub sandbox_bin: PathBuf,
    /// `checkout-server`.
    pub server_bin: PathBuf,
    /// Logs and the database live here.
    pub dir: PathBuf,
}

/// The running processes.
pub struct Procs {
    setup: Setup,
    sandbox: Child,
    backend: Option<Child>,
    /// Backend starts so far (its log files are `backend-<n>.log`).
    pub generation: u32,
    /// `http://127.0.0.1:<port>` of the sandbox.
    pub sandbox_url: String,
    /// `http://127.0.0.1:<port>` of the backend (the same across restarts).
    pub backend_url: String,
    backend_port: u16,
    charge_interval_secs: u64,
}

/// A port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn log_file(dir: &Path, name: &str) -> anyhow::Result<(File, File)> {
    let f = File::create(dir.join(name)).with_context(|| format!("creating {name}"))?;
    let g = f.try_clone()?;
    Ok((f, g))
}

impl Procs {
    /// Starts the sandbox (webhooks to the backend's V2 and Toss endpoints,
    /// quick webhook retries, Toss's confirm window `toss_confirm_ttl_ms`)
    /// and the backend (subscriptions charged every `charge_interval_secs`).
    pub async fn start(
        setup: Setup,
        http: &reqwest::Client,
        toss_confirm_ttl_ms: u64,
        charge_interval_secs: u64,
    ) -> anyhow::Result<Procs> {
        std::fs::create_dir_all(&setup.dir)?;
        let sandbox_port = free_port()?;
        let backend_port = free_port()?;
        let backend_url = format!("http://127.0.0.1:{backend_port}");
        let sandbox_url = format!("http://127.0.0.1:{sandbox_port}");
        let (out, err) = log_file(&setup.dir, "sandbox.log")?;
        let sandbox = Command::new(&setup.sandbox_bin)
            .arg("--addr")
            .arg(format!("127.0.0.1:{sandbox_port}"))
            .arg("--webhook-url")
            .arg(format!("{backend_url}/api/webhooks/portone"))
            .arg("--webhook-url")
            .arg(format!("{backend_url}/toss/api/webhooks/toss"))
            .arg("--webhook-retry-base-ms")
            .arg("250")
            .arg("--toss-confirm-ttl-ms")
            .arg(toss_confirm_ttl_ms.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", setup.sandbox_bin.display()))?;
        let mut procs = Procs {
            setup,
            sandbox,
            backend: None,
            generation: 0,
            sandbox_url,
            backend_url,
            backend_port,
            charge_interval_secs,
        };
        wait_ready(
            http,
            &format!("{}/__sandbox/info", procs.sandbox_url),
            &mut procs.sandbox,
        )
        .await?;
        procs.start_backend(http).await?;
        Ok(procs)
    }

    /// The backend's SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.setup.dir.join("checkout.db")
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.setup.dir
    }

    /// Starts the backend on its address and database and waits until it
    /// answers (retrying while the old address is still taken).
    pub async fn start_backend(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        if self.backend.is_some() {
            return Ok(());
        }
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            self.generation += 1;
            let (out, err) = log_file(&self.setup.dir, &format!("backend-{}.log", self.generation))?;
            let mut child = Command::new(&self.setup.server_bin)
                .arg("--addr")
                .arg(format!("127.0.0.1:{}", self.backend_port))
                .arg("--db")
                .arg(self.db_path())
                .arg("--portone-api-base")
                .arg(&self.sandbox_url)
                .env("CHECKOUT_MODE", "sandbox")
                .env("CHECKOUT_RECONCILE_SECS", "2")
                .env("CHECKOUT_RATE_BURST", "0")
                .env("CHECKOUT_CHARGE_INTERVAL_SECS", self.charge_interval_secs.to_string())
                .env(
                    "PORTONE_V1_NOTICE_URL",
                    format!("{}/v1/api/webhooks/portone-v1", self.backend_url),
                )
                .env("RUST_LOG", "info,sqlx=warn")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {}", self.setup.server_bin.display()))?;
            match wait_ready(http, &format!("{}/api/config", self.backend_url), &mut child).await {
                Ok(()) => {
                    self.backend = Some(child);
                    return Ok(());
                }
                Err(e) if Instant::now() < deadline => {
                    eprintln!("soak: backend start {} failed ({e:#}); again", self.generation);
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// SIGKILLs the backend (no graceful shutdown) and reaps it.
    pub async fn kill_backend(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.backend.take() {
            child.start_kill().context("SIGKILL to the backend")?;
            child.wait().await?;
        }
        Ok(())
    }

    /// Stops both processes.
    pub async fn stop(&mut self) {
        let _ = self.kill_backend().await;
        let _ = self.sandbox.start_kill();
        let _ = self.sandbox.wait().await;
    }

    /// Whether the sandbox is still running.
    pub fn sandbox_alive(&mut self) -> bool {
        matches!(self.sandbox.try_wait(), Ok(None))
    }

    /// Every log file of the run (the sandbox's and each backend start's).
    pub fn logs(&self) -> Vec<PathBuf> {
        let mut v = vec![self.setup.dir.join("sandbox.log")];
        v.extend((1..=self.generation).map(|g| self.setup.dir.join(format!("backend-{g}.log"))));
        v
    }
}

/// Polls `url` until it answers 200, failing early when `child` exits.
async fn wait_ready(http: &reqwest::Client, url: &str, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            bail!("{url}: the process exited ({status}) before answering");
        }
        if let Ok(r) = http.get(url).timeout(Duration::from_secs(2)).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            bail!("{url} did not answer within {READY_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
