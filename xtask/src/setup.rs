//! `cargo xtask setup`: installs only what is missing, and says what it did.
//!
//! Traps this avoids (see `shared/reference/toolchain.md`): trunk 0.22 needs a
//! newer rustc than this machine's, so trunk is pinned to 0.21.14;
//! `wasm-bindgen-cli` is installed without `--locked` because the registry
//! mirror lacks a crate version its lock file pins; Debian's wasm-opt 108
//! breaks the module, so wasm-opt comes from npm `binaryen@132.0.0`;
//! Chromium runs as root only with `--no-sandbox` (see `webdriver.json`);
//! PostgreSQL's `initdb` refuses root, so the throwaway clusters run as the
//! `postgres` user (`pg.rs`).

use crate::util::{cmd, output, root, run, tools_dir, which};
use std::fs;
use std::path::PathBuf;

/// The trunk version that builds with this machine's rustc.
pub const TRUNK_VERSION: &str = "0.21.14";
/// The npm binaryen version whose wasm-opt works with current rustc output.
pub const BINARYEN_VERSION: &str = "132.0.0";

/// Where the browser tests find things after setup.
pub struct Tools {
    /// `chromedriver` executable.
    pub chromedriver: PathBuf,
    /// `chromium` executable.
    pub chromium: PathBuf,
}

/// Runs every step; returns the tools or the list of what is missing.
pub fn setup() -> Result<Tools, String> {
    println!("== setup: checking the toolchain (installs only what is missing)");
    let mut missing = Vec::new();
    step("wasm32-unknown-unknown target", wasm_target(), &mut missing);
    step("wasm-bindgen-cli", wasm_bindgen_cli(), &mut missing);
    step(
        "Trunk.toml tools in step with Cargo.lock",
        trunk_tools_in_step(),
        &mut missing,
    );
    step("wasm-opt (binaryen)", wasm_opt(), &mut missing);
    step("trunk", trunk(), &mut missing);
    step("PostgreSQL (initdb, pg_ctl)", postgresql(), &mut missing);
    let browser = chromium();
    let tools = match browser {
        Ok((chromium, chromedriver)) => {
            println!(
                "  ok    chromium: {} / chromedriver: {}",
                chromium.display(),
                chromedriver.display()
            );
            Some(Tools { chromedriver, chromium })
        }
        Err(e) => {
            println!("  MISSING chromium: {e}");
            missing.push(e);
            None
        }
    };
    match tools {
        Some(t) if missing.is_empty() => {
            println!("== setup: all tools present");
            Ok(t)
        }
        _ => Err(missing.join("\n")),
    }
}

fn step(name: &str, r: Result<String, String>, missing: &mut Vec<String>) {
    match r {
        Ok(found) => println!("  ok    {name}: {found}"),
        Err(e) => {
            println!("  MISSING {name}: {e}");
            missing.push(format!("{name}: {e}"));
        }
    }
}

fn wasm_target() -> Result<String, String> {
    let installed = output(cmd("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok("installed".into());
    }
    println!("  ..    installing the wasm32-unknown-unknown target");
    if run(cmd("rustup").args(["target", "add", "wasm32-unknown-unknown"])) {
        Ok("installed now".into())
    } else {
        Err("run `rustup target add wasm32-unknown-unknown` by hand".into())
    }
}

/// The exact `wasm-bindgen` version in `Cargo.lock`.
pub fn locked_wasm_bindgen() -> Result<String, String> {
    let lock = root().join("Cargo.lock");
    if !lock.exists() && !run(cmd("cargo").arg("generate-lockfile")) {
        return Err("Cargo.lock is missing and `cargo generate-lockfile` failed".into());
    }
    let text = fs::read_to_string(&lock).map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next() {
                if let Some(v) = v.trim().strip_prefix("version = \"") {
                    return Ok(v.trim_end_matches('"').to_string());
                }
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".into())
}

fn wasm_bindgen_cli() -> Result<String, String> {
    let want = locked_wasm_bindgen()?;
    let have = |bin: &str| output(cmd(bin).arg("--version")).unwrap_or_default();
    let ok = |s: String| s.split_whitespace().nth(1) == Some(want.as_str());
    if ok(have("wasm-bindgen")) && ok(have("wasm-bindgen-test-runner")) {
        return Ok(format!("{want} (matches Cargo.lock)"));
    }
    println!("  ..    installing wasm-bindgen-cli {want} (no --locked: the mirror lacks a pinned crate)");
    if run(cmd("cargo").args(["install", "wasm-bindgen-cli", "--force", "--version", &want]))
        && ok(have("wasm-bindgen"))
    {
        Ok(format!("{want} installed now"))
    } else {
        Err(format!("run `cargo install wasm-bindgen-cli --version {want}` by hand"))
    }
}

/// The library does not pin wasm-bindgen with `=`: Cargo.lock does, and
/// every `Trunk.toml` names the same version for trunk's `[tools]`.
fn trunk_tools_in_step() -> Result<String, String> {
    let want = locked_wasm_bindgen()?;
    let mut checked = Vec::new();
    for file in ["Trunk.toml", "bench/minimal/Trunk.toml"] {
        let path = root().join(file);
        let Ok(text) = fs::read_to_string(&path) else { continue };
        let pinned = text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "wasm_bindgen").then(|| v.trim().trim_matches('"').to_string())
        });
        match pinned {
            Some(v) if v == want => checked.push(file),
            Some(v) => {
                return Err(format!(
                    "{file} [tools] wasm_bindgen is {v} but Cargo.lock has wasm-bindgen {want}: set it to \"{want}\""
                ))
            }
            None => {
                return Err(format!(
                    "{file} has no [tools] wasm_bindgen; add wasm_bindgen = \"{want}\""
                ))
            }
        }
    }
    Ok(format!("{want} in {}", checked.join(", ")))
}

fn wasm_opt() -> Result<String, String> {
    let dir = tools_dir().join("binaryen");
    let real = dir.join("node_modules").join(".bin").join("wasm-opt");
    let link = tools_dir().join("bin").join("wasm-opt");
    let version = || output(cmd(&real.to_string_lossy()).arg("--version")).unwrap_or_default();
    if !version().contains("version 132") && !version().contains("version_132") {
        if which("npm").is_none() {
            return Err(format!(
                "npm is missing: install Node.js and npm, then `npm install --prefix {} binaryen@{BINARYEN_VERSION}`",
                dir.display()
            ));
        }
        println!(
            "  ..    installing binaryen@{BINARYEN_VERSION} from npm into {}",
            dir.display()
        );
        let _ = fs::create_dir_all(&dir);
        let pkg = format!("binaryen@{BINARYEN_VERSION}");
        if !run(cmd("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(&pkg))
        {
            return Err(format!("`npm install --prefix {} {pkg}` failed", dir.display()));
        }
    }
    let _ = fs::create_dir_all(tools_dir().join("bin"));
    if !link.exists() {
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &link).map_err(|e| format!("linking wasm-opt: {e}"))?;
    }
    let v = version();
    if v.contains("132") {
        Ok(format!("{v} at {}", link.display()))
    } else {
        Err(format!(
            "wasm-opt at {} prints `{v}`, expected version 132",
            real.display()
        ))
    }
}

fn trunk() -> Result<String, String> {
    let have = || output(cmd("trunk").arg("--version")).unwrap_or_default();
    if have().contains(TRUNK_VERSION) {
        return Ok(have());
    }
    println!("  ..    installing trunk {TRUNK_VERSION} (compiles for several minutes)");
    // trunk only orchestrates builds: a lighter release profile halves its
    // compile time on a 2-core machine at no cost that matters here.
    let ok = run(cmd("cargo")
        .args(["install", "trunk", "--locked", "--force", "--version", TRUNK_VERSION])
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1"));
    if ok && have().contains(TRUNK_VERSION) {
        Ok(format!("{} installed now", have()))
    } else {
        Err(format!(
            "run `cargo install trunk --version {TRUNK_VERSION} --locked` by hand"
        ))
    }
}

/// Debian's `postgresql` (the server binaries the throwaway test and bench
/// clusters run; no service is started by the suites).
fn postgresql() -> Result<String, String> {
    if let Some(bin) = crate::pg::bin_dir() {
        return Ok(bin.display().to_string());
    }
    let root_user = output(std::process::Command::new("id").arg("-u")).as_deref() == Some("0");
    if which("apt-get").is_none() || !root_user {
        return Err("install PostgreSQL by hand (Debian: `sudo apt-get install postgresql`)".into());
    }
    println!("  ..    installing Debian's postgresql");
    let ok = run(cmd("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))
        && run(cmd("apt-get")
            .args(["install", "-y", "--no-install-recommends", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive"));
    match (ok, crate::pg::bin_dir()) {
        (true, Some(bin)) => Ok(format!("{} installed now", bin.display())),
        _ => Err("`apt-get install postgresql` failed; install it by hand".into()),
    }
}

fn find_browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| which(n))?;
    let driver = which("chromedriver")?;
    Some((chromium, driver))
}

fn chromium() -> Result<(PathBuf, PathBuf), String> {
    if let Some(found) = find_browser() {
        return Ok(found);
    }
    let root_user = output(std::process::Command::new("id").arg("-u")).as_deref() == Some("0");
    if which("apt-get").is_none() || !root_user {
        return Err("install Chromium and its ChromeDriver by hand (Debian: `sudo apt-get install chromium chromium-driver`) and put both on PATH".into());
    }
    println!("  ..    installing Debian's chromium and chromium-driver");
    let ok = run(cmd("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))
        && run(cmd("apt-get")
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "chromium",
                "chromium-driver",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"));
    match (ok, find_browser()) {
        (true, Some(found)) => Ok(found),
        _ => Err("`apt-get install chromium chromium-driver` failed; install them by hand".into()),
    }
}
