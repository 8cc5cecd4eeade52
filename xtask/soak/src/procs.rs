//! The processes under test: `portone-sandbox` (started once) and one or
//! several replicas of `checkout-server` on one database (each SIGKILLed and
//! restarted on its own address), each logging to its own file in the run
//! directory.

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
    /// The backend's database: `None` for a SQLite file in [`Setup::dir`],
    /// else a `postgres://` URL shared by every replica.
    pub database_url: Option<String>,
    /// How many backend replicas serve the shop (one database).
    pub replicas: usize,
}

/// One backend replica: its fixed address and, while it runs, its process.
struct Replica {
    port: u16,
    url: String,
    child: Option<Child>,
}

/// The running processes.
pub struct Procs {
    setup: Setup,
    sandbox: Child,
    replicas: Vec<Replica>,
    /// Backend starts so far, over every replica (their log files are
    /// `backend-<n>.log`).
    pub generation: u32,
    /// `http://127.0.0.1:<port>` of the sandbox.
    pub sandbox_url: String,
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
        let sandbox_url = format!("http://127.0.0.1:{sandbox_port}");
        let mut replicas = Vec::new();
        for _ in 0..setup.replicas.max(1) {
            let port = free_port()?;
            replicas.push(Replica {
                port,
                url: format!("http://127.0.0.1:{port}"),
                child: None,
            });
        }
        let (out, err) = log_file(&setup.dir, "sandbox.log")?;
        let mut sandbox = Command::new(&setup.sandbox_bin);
        sandbox.arg("--addr").arg(format!("127.0.0.1:{sandbox_port}"));
        // Every replica is a webhook target: with several, each event
        // reaches them all at once (redeliveries racing across replicas).
        for r in &replicas {
            sandbox
                .arg("--webhook-url")
                .arg(format!("{}/api/webhooks/portone", r.url))
                .arg("--webhook-url")
                .arg(format!("{}/toss/api/webhooks/toss", r.url));
        }
        let sandbox = sandbox
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
            replicas,
            generation: 0,
            sandbox_url,
            charge_interval_secs,
        };
        wait_ready(
            http,
            &format!("{}/__sandbox/info", procs.sandbox_url),
            &mut procs.sandbox,
        )
        .await?;
        procs.start_backends(http).await?;
        Ok(procs)
    }

    /// The backend's database: its `postgres://` URL, or the path of its
    /// SQLite file.
    pub fn database(&self) -> String {
        match &self.setup.database_url {
            Some(url) => url.clone(),
            None => self.setup.dir.join("checkout.db").to_string_lossy().into_owned(),
        }
    }

    /// The replicas' base URLs (each the same across restarts).
    pub fn backend_urls(&self) -> Vec<String> {
        self.replicas.iter().map(|r| r.url.clone()).collect()
    }

    /// Starts every replica that is not running.
    pub async fn start_backends(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        for i in 0..self.replicas.len() {
            self.start_backend(http, i).await?;
        }
        Ok(())
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.setup.dir
    }

    /// Starts replica `i` on its address and the database and waits until
    /// it answers (retrying while the old address is still taken).
    pub async fn start_backend(&mut self, http: &reqwest::Client, i: usize) -> anyhow::Result<()> {
        if self.replicas[i].child.is_some() {
            return Ok(());
        }
        let (port, url) = (self.replicas[i].port, self.replicas[i].url.clone());
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            self.generation += 1;
            let (out, err) = log_file(&self.setup.dir, &format!("backend-{}.log", self.generation))?;
            let mut child = Command::new(&self.setup.server_bin)
                .arg("--addr")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--db")
                .arg(self.database())
                .arg("--portone-api-base")
                .arg(&self.sandbox_url)
                .env("CHECKOUT_MODE", "sandbox")
                .env("CHECKOUT_RECONCILE_SECS", "2")
                .env("CHECKOUT_RATE_BURST", "0")
                .env("CHECKOUT_CHARGE_INTERVAL_SECS", self.charge_interval_secs.to_string())
                .env("PORTONE_V1_NOTICE_URL", format!("{url}/v1/api/webhooks/portone-v1"))
                .env("RUST_LOG", "info,sqlx=warn")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {}", self.setup.server_bin.display()))?;
            match wait_ready(http, &format!("{url}/api/config"), &mut child).await {
                Ok(()) => {
                    self.replicas[i].child = Some(child);
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

    /// How many replicas there are.
    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// SIGKILLs replica `i` (no graceful shutdown) and reaps it.
    pub async fn kill_backend(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut child) = self.replicas[i].child.take() {
            child.start_kill().context("SIGKILL to the backend")?;
            child.wait().await?;
        }
        Ok(())
    }

    /// Stops every process.
    pub async fn stop(&mut self) {
        for i in 0..self.replicas.len() {
            let _ = self.kill_backend(i).await;
        }
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
