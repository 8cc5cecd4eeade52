//! Small process helpers shared by the xtask commands (std only, so xtask
//! compiles in seconds on a fresh machine).

use std::env;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| "xtask".into());
    let dir = PathBuf::from(manifest);
    dir.parent().map(Path::to_path_buf).unwrap_or(dir)
}

/// The project-local, git-ignored tools folder.
pub fn tools_dir() -> PathBuf {
    root().join(".tools")
}

/// `PATH` with the project tools and cargo's bin folder in front, so that
/// trunk finds `wasm-opt`/`wasm-bindgen` at the pinned versions.
pub fn tool_path() -> String {
    let mut parts = vec![tools_dir().join("bin")];
    if let Some(home) = env::var_os("CARGO_HOME") {
        parts.push(PathBuf::from(home).join("bin"));
    } else if let Some(home) = env::var_os("HOME") {
        parts.push(PathBuf::from(home).join(".cargo").join("bin"));
    }
    let old = env::var_os("PATH").unwrap_or_default();
    parts.extend(env::split_paths(&old));
    env::join_paths(parts)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| old.to_string_lossy().into_owned())
}

/// A command rooted at the workspace with the tool `PATH`.
pub fn cmd(program: &str) -> Command {
    let mut c = Command::new(program);
    c.current_dir(root()).env("PATH", tool_path());
    c
}

/// Runs a command, inheriting stdio; returns whether it succeeded.
pub fn run(c: &mut Command) -> bool {
    eprintln!("$ {}", describe(c));
    match c.status() {
        Ok(s) => s.success(),
        Err(e) => {
            eprintln!("  could not start: {e}");
            false
        }
    }
}

/// Runs a command and returns its trimmed stdout if it exits successfully.
pub fn output(c: &mut Command) -> Option<String> {
    let out = c.stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs a command with its stdout shown live and also captured line by line.
pub fn run_capture(c: &mut Command) -> (bool, Vec<String>) {
    eprintln!("$ {}", describe(c));
    let child = c.stdout(Stdio::piped()).spawn();
    let mut child = match child {
        Ok(ch) => ch,
        Err(e) => {
            eprintln!("  could not start: {e}");
            return (false, Vec::new());
        }
    };
    let mut lines = Vec::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            lines.push(line);
        }
    }
    let ok = child.wait().map(|s: ExitStatus| s.success()).unwrap_or(false);
    (ok, lines)
}

/// A shell-like rendering of a command, for logs.
pub fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Finds an executable in the tool `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    env::split_paths(&tool_path())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
