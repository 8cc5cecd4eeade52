//! `cargo xtask demo`: setup, build the demo shop in release mode, start the
//! PortOne sandbox and the backend (serving the build), print the URL.

use crate::setup::setup;
use crate::util::{cmd, root, run};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const SANDBOX_ADDR: &str = "127.0.0.1:8787";
const SERVER_ADDR: &str = "127.0.0.1:8080";

/// Kills the child processes when the demo ends (Ctrl-C or an error).
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_port(addr: &str, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("{what} did not start listening on {addr} within 120 s");
    false
}

fn binary(name: &str) -> Command {
    let mut c = Command::new(root().join("target").join("debug").join(name));
    c.current_dir(root());
    c
}

/// Builds and runs the demo; returns the exit code.
pub fn demo(_args: &[String]) -> i32 {
    if let Err(missing) = setup() {
        eprintln!("setup could not provide every tool:\n{missing}");
        return 1;
    }
    for (addr, who) in [(SANDBOX_ADDR, "the sandbox"), (SERVER_ADDR, "the backend")] {
        if TcpStream::connect(addr).is_ok() {
            eprintln!("{addr} is already in use; stop whatever listens there ({who}'s port) and try again");
            return 1;
        }
    }
    println!("== demo: building the shop (trunk, release) and the services");
    if !run(cmd("trunk").args(["build", "--release"])) {
        return 1;
    }
    if !run(cmd("cargo").args(["build", "-p", "portone-sandbox", "-p", "checkout-server"])) {
        return 1;
    }
    let mut children = Children(Vec::new());
    match binary("portone-sandbox")
        .args([
            "--addr",
            SANDBOX_ADDR,
            "--webhook-url",
            &format!("http://{SERVER_ADDR}/api/webhooks/portone"),
        ])
        .spawn()
    {
        Ok(c) => children.0.push(c),
        Err(e) => {
            eprintln!("could not start the sandbox: {e}");
            return 1;
        }
    }
    if !wait_port(SANDBOX_ADDR, "the sandbox") {
        return 1;
    }
    let dist = root().join("dist");
    match binary("checkout-server")
        .args(["--addr", SERVER_ADDR, "--static-dir"])
        .arg(&dist)
        .spawn()
    {
        Ok(c) => children.0.push(c),
        Err(e) => {
            eprintln!("could not start the backend: {e}");
            return 1;
        }
    }
    if !wait_port(SERVER_ADDR, "the backend") {
        return 1;
    }
    println!(
        "\n== demo ready: open http://{SERVER_ADDR}/ (PortOne V2), http://{SERVER_ADDR}/v1/ (PortOne V1) or \
         http://{SERVER_ADDR}/toss/ (Toss Payments)  (sandbox at http://{SANDBOX_ADDR}; Ctrl-C stops both)\n"
    );
    // Runs until a child exits (or Ctrl-C ends us and, with us, them).
    loop {
        for c in &mut children.0 {
            if let Ok(Some(status)) = c.try_wait() {
                eprintln!("a demo process exited ({status}); stopping");
                return 1;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
