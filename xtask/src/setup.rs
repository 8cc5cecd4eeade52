//! `cargo xtask setup`: installs only what is missing, and says what it did.
//!
//! Traps this avoids (see `shared/reference/toolchain.md`): trunk 0.22 needs a
//! newer rustc than this machine's, so trunk is pinned to 0.21.14;
//! `wasm-bindgen-cli` is installed without `--locked` because the registry
//! mirror lacks a crate version its lock file pins; Debian's wasm-opt 108
//! breaks the module, so wasm-opt comes from npm `binaryen@132.0.0`;
//! Chromium runs as root only with `--no-sandbox` (see `webdriver.json`).
//!
//! The browser suites run in three engines. Debian gives Chromium +
//! chromedriver, Firefox ESR (`firefox-esr`, not `firefox`: geckodriver is
//! told the path), WebKitGTK's `WebKitWebDriver` with its `MiniBrowser`
//! (outside `PATH`, in WebKitGTK's library folder; no headless mode, hence
//! Xvfb) and `fonts-noto-cjk` (Korean text in failure screenshots); all
//! missing packages go into one `apt-get install`. geckodriver is not
//! packaged by Debian: `cargo install geckodriver` builds it (about 3
//! minutes on 2 cores).
//!
//! PostgreSQL's `initdb` refuses root, so the throwaway clusters run as the
//! `postgres` user (`pg.rs`); Debian's `postgresql` goes into the same
//! `apt-get install`.

use crate::util::{cmd, output, root, run, tools_dir, which};
use std::fs;
use std::path::PathBuf;

/// The trunk version that builds with this machine's rustc.
pub const TRUNK_VERSION: &str = "0.21.14";
/// The npm binaryen version whose wasm-opt works with current rustc output.
pub const BINARYEN_VERSION: &str = "132.0.0";

/// The geckodriver version `cargo install` builds when none is on `PATH`.
pub const GECKODRIVER_VERSION: &str = "0.37.1";

/// Where the browser tests find things after setup: one browser and its
/// WebDriver server per engine (Chromium, Firefox, WebKit), and Xvfb for
/// WebKitGTK's MiniBrowser, which has no headless mode.
pub struct Tools {
    /// `chromedriver` executable.
    pub chromedriver: PathBuf,
    /// `chromium` executable.
    pub chromium: PathBuf,
    /// `geckodriver` executable.
    pub geckodriver: PathBuf,
    /// Firefox (Debian: `firefox-esr`).
    pub firefox: PathBuf,
    /// `WebKitWebDriver` (WebKitGTK).
    pub webkit_driver: PathBuf,
    /// WebKitGTK's `MiniBrowser`, the browser `WebKitWebDriver` drives.
    pub minibrowser: PathBuf,
    /// `Xvfb`, the X server MiniBrowser draws into.
    pub xvfb: PathBuf,
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
    step(
        "Debian packages (browsers, drivers, Xvfb, CJK fonts)",
        debian_packages(),
        &mut missing,
    );
    step("geckodriver", geckodriver(), &mut missing);
    let found = (|| {
        let (chromium, chromedriver) = find_chromium()?;
        Some(Tools {
            chromium,
            chromedriver,
            firefox: find_firefox()?,
            geckodriver: which("geckodriver")?,
            webkit_driver: which("WebKitWebDriver")?,
            minibrowser: find_minibrowser()?,
            xvfb: which("Xvfb")?,
        })
    })();
    if let Some(t) = &found {
        for (what, path) in [
            ("chromium", &t.chromium),
            ("chromedriver", &t.chromedriver),
            ("firefox", &t.firefox),
            ("geckodriver", &t.geckodriver),
            ("WebKitWebDriver", &t.webkit_driver),
            ("MiniBrowser", &t.minibrowser),
            ("Xvfb", &t.xvfb),
        ] {
            println!("  ok    {what}: {}", path.display());
        }
    }
    match found {
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

fn find_chromium() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| which(n))?;
    let driver = which("chromedriver")?;
    Some((chromium, driver))
}

/// Debian names Firefox ESR's binary `firefox-esr`; geckodriver is told
/// where it is (`--binary`, `moz:firefoxOptions.binary`), so no `firefox`
/// link is needed.
fn find_firefox() -> Option<PathBuf> {
    ["firefox-esr", "firefox"].iter().find_map(|n| which(n))
}

/// MiniBrowser is not on `PATH`: WebKitGTK keeps it in its library folder.
fn find_minibrowser() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MINIBROWSER")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
    {
        return Some(p);
    }
    ["x86_64-linux-gnu", "aarch64-linux-gnu", ""]
        .iter()
        .flat_map(|arch| {
            ["webkit2gtk-4.1", "webkit2gtk-4.0", "webkitgtk-6.0"]
                .iter()
                .map(move |v| PathBuf::from("/usr/lib").join(arch).join(v).join("MiniBrowser"))
        })
        .find(|p| p.is_file())
}

/// A font with Korean glyphs, so failure screenshots show Korean text.
fn korean_font() -> bool {
    output(cmd("fc-list").args([":lang=ko", "family"])).is_some_and(|s| !s.is_empty())
        || output(cmd("dpkg-query").args(["-W", "-f=${Status}", "fonts-noto-cjk"]))
            .is_some_and(|s| s.ends_with(" installed"))
}

/// Each Debian package the browser suites need, and whether it is there.
fn debian_needs() -> Vec<(&'static str, bool)> {
    vec![
        (
            "chromium",
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .any(|n| which(n).is_some()),
        ),
        ("chromium-driver", which("chromedriver").is_some()),
        ("firefox-esr", find_firefox().is_some()),
        (
            "webkit2gtk-driver",
            which("WebKitWebDriver").is_some() && find_minibrowser().is_some(),
        ),
        ("xvfb", which("Xvfb").is_some()),
        ("fonts-noto-cjk", korean_font()),
    ]
}

fn debian_packages() -> Result<String, String> {
    let missing: Vec<&str> = debian_needs()
        .into_iter()
        .filter(|(_, there)| !there)
        .map(|(p, _)| p)
        .collect();
    let all: Vec<&str> = debian_needs().into_iter().map(|(p, _)| p).collect();
    if missing.is_empty() {
        return Ok(format!("present: {}", all.join(", ")));
    }
    let command = format!("apt-get install -y --no-install-recommends {}", missing.join(" "));
    let root_user = output(std::process::Command::new("id").arg("-u")).as_deref() == Some("0");
    if which("apt-get").is_none() || !root_user {
        return Err(format!(
            "install by hand (Debian: `sudo apt-get update && sudo {command}`; elsewhere: Chromium + ChromeDriver, \
             Firefox, WebKitGTK's WebKitWebDriver and MiniBrowser, Xvfb and a Korean font) and put the \
             binaries on PATH"
        ));
    }
    println!("  ..    installing Debian's {}", missing.join(", "));
    let ok = run(cmd("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))
        && run(cmd("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"));
    let still: Vec<&str> = debian_needs()
        .into_iter()
        .filter(|(_, there)| !there)
        .map(|(p, _)| p)
        .collect();
    match (ok, still.is_empty()) {
        (true, true) => Ok(format!("installed now: {}", missing.join(", "))),
        _ => Err(format!(
            "`{command}` did not provide {}; install them by hand",
            still.join(", ")
        )),
    }
}

fn geckodriver() -> Result<String, String> {
    let have = || output(cmd("geckodriver").arg("--version")).and_then(|v| v.lines().next().map(str::to_owned));
    if let Some(v) = have() {
        return Ok(v);
    }
    println!("  ..    installing geckodriver {GECKODRIVER_VERSION} from crates.io (builds for about 3 minutes)");
    // geckodriver only relays WebDriver commands: at opt-level 1 it built in
    // 170 s here, against 290 s at the default release profile.
    let ok = run(cmd("cargo")
        .args(["install", "geckodriver", "--locked", "--version", GECKODRIVER_VERSION])
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false"));
    match (ok, have()) {
        (true, Some(v)) => Ok(format!("{v} installed now")),
        _ => Err(format!(
            "run `cargo install geckodriver --locked --version {GECKODRIVER_VERSION}` by hand"
        )),
    }
}
