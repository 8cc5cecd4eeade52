//! A throwaway PostgreSQL cluster for `test` and `bench`: `initdb` in a
//! temporary directory, `pg_ctl start` on a free loopback port (TCP on
//! 127.0.0.1 only, its unix socket in that directory), stopped and removed
//! when dropped. No system service and no setup by hand: the binaries are
//! Debian's `postgresql` package (`cargo xtask setup` installs it when
//! missing). `initdb` refuses to run as root, so as root the cluster runs
//! as the `postgres` user.

use crate::util::output;
use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

/// Where Debian puts a PostgreSQL's binaries: the newest
/// `/usr/lib/postgresql/<major>/bin` holding `initdb` and `pg_ctl`.
pub fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// How the cluster trades durability for speed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// PostgreSQL's defaults (`fsync`, synchronous commit): what a
    /// benchmark measures.
    Full,
    /// No fsync: a test cluster that is thrown away anyway.
    Throwaway,
}

/// A running cluster; stopped (`pg_ctl stop -m fast`) and deleted on drop.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).as_deref() == Some("0")
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

impl Cluster {
    /// Creates and starts a cluster; the error says what failed (with the
    /// server's log when it would not start).
    pub fn start(durability: Durability) -> Result<Cluster, String> {
        let bin = bin_dir().ok_or(
            "no PostgreSQL under /usr/lib/postgresql/*/bin (Debian: `apt-get install postgresql`; `cargo xtask setup` does it)",
        )?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("checkout-pg-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let as_postgres = is_root();
        let mut cluster = Cluster {
            dir,
            bin,
            port: 0,
            as_postgres,
        };
        if as_postgres {
            let owned = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !owned {
                return Err(format!(
                    "could not hand {} to the postgres user (is Debian's postgresql installed?)",
                    cluster.dir.display()
                ));
            }
        }
        let data = cluster.dir.join("data");
        let init = cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-locale".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        if !init {
            return Err("initdb failed".into());
        }
        cluster.port = free_port()?;
        let mut server_opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=300",
            cluster.port,
            cluster.dir.display()
        );
        if durability == Durability::Throwaway {
            server_opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let log = cluster.dir.join("server.log");
        let started = cluster.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                server_opts.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        )?;
        if !started {
            let log = fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("pg_ctl start failed; the server's log:\n{log}"));
        }
        println!(
            "  ok    PostgreSQL on 127.0.0.1:{} ({})",
            cluster.port,
            cluster.dir.display()
        );
        Ok(cluster)
    }

    /// Runs one of the cluster's binaries (as `postgres` when root).
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<bool, String> {
        let exe = self.bin.join(program);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        c.args(args).current_dir(&self.dir);
        // Out of the way of the suites' output; the log says why on failure.
        c.stdout(std::process::Stdio::null());
        c.status()
            .map(|s| s.success())
            .map_err(|e| format!("could not run {}: {e}", exe.display()))
    }

    /// The URL of the `postgres` database (user `postgres`, no password:
    /// `trust` on loopback only).
    pub fn url(&self) -> String {
        format!("{}/postgres", self.base_url())
    }

    /// The URL without a database: `postgres://postgres@127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Creates a database (`createdb`).
    pub fn create_database(&self, name: &str) -> Result<(), String> {
        let port = self.port.to_string();
        let args = ["-h", "127.0.0.1", "-p", &port, "-U", "postgres", name];
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        match self.run("createdb", &args)? {
            true => Ok(()),
            false => Err(format!("createdb {name} failed")),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.dir.join("data");
            let stopped = self.run(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-m".as_ref(),
                    "fast".as_ref(),
                    "-w".as_ref(),
                    "stop".as_ref(),
                ],
            );
            if stopped != Ok(true) {
                eprintln!("  could not stop PostgreSQL in {}", self.dir.display());
                return; // keep its files for a look
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
