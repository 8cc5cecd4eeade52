//! `cargo xtask scan-secrets [dir...]`: fails when a Toss Payments secret
//! key, or the name of the secret-key setting, reaches what browsers get.
//!
//! Only the client key may ever be in the browser. This scans every file
//! of the trunk build of the demo (`dist/`, wasm, JS glue, HTML, CSS) and
//! of the bench's minimal page (`bench/dist/minimal`, when built) for the
//! secret-key prefixes (`test_sk_`, `live_sk_`, and the `gsk` kind), the
//! sandbox's default secret key, and the setting's names (`TOSS_SECRET_KEY`,
//! `secret_key`, `secretKey`). `cargo xtask test` runs it after the trunk
//! build; the library compares secret-key prefixes byte by byte, so it
//! never holds one as text.

use crate::util::root;
use std::path::{Path, PathBuf};

/// What must never appear in a browser bundle.
pub const FORBIDDEN: &[&str] = &[
    "test_sk_",
    "live_sk_",
    "test_gsk_",
    "live_gsk_",
    "sandboxTossPaymentsSecretKey",
    "TOSS_SECRET_KEY",
    "secret_key",
    "secretKey",
];

/// The forbidden strings `bytes` contains.
pub fn findings(bytes: &[u8]) -> Vec<&'static str> {
    FORBIDDEN
        .iter()
        .copied()
        .filter(|needle| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .collect()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Scans `dirs` (default: `dist/` and, when built, `bench/dist/minimal`);
/// returns the exit code. A missing `dist/` is a failure: there would be
/// nothing to check.
pub fn scan(args: &[String]) -> i32 {
    let root = root();
    let dirs: Vec<PathBuf> = if args.is_empty() {
        let mut d = vec![root.join("dist")];
        let minimal = root.join("bench").join("dist").join("minimal");
        if minimal.is_dir() {
            d.push(minimal);
        } else {
            println!("bench/dist/minimal is not built (cargo xtask bench builds it); scanning dist/ only");
        }
        d
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    let mut leaks = Vec::new();
    let mut scanned = 0;
    for dir in &dirs {
        let mut all = Vec::new();
        if let Err(e) = files(dir, &mut all) {
            eprintln!(
                "cannot read {}: {e} (build it first: trunk build --release)",
                dir.display()
            );
            return 1;
        }
        if all.is_empty() {
            eprintln!("{} is empty: build it first (trunk build --release)", dir.display());
            return 1;
        }
        for file in all {
            match std::fs::read(&file) {
                Ok(bytes) => {
                    scanned += 1;
                    for f in findings(&bytes) {
                        leaks.push((file.clone(), f));
                    }
                }
                Err(e) => {
                    eprintln!("cannot read {}: {e}", file.display());
                    return 1;
                }
            }
        }
    }
    if leaks.is_empty() {
        println!("no secret key and no secret-key setting in {scanned} file(s) of the browser bundle");
        0
    } else {
        for (file, what) in &leaks {
            eprintln!("LEAK: {} contains {what:?}", file.display());
        }
        eprintln!("only the Toss client key may reach the browser: the secret key stays on the server");
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_key_or_the_setting_in_a_bundle_is_found() {
        assert_eq!(findings(b"...\"test_sk_abc\"..."), vec!["test_sk_"]);
        assert_eq!(findings(b"live_sk_x"), vec!["live_sk_"]);
        assert!(findings(b"env TOSS_SECRET_KEY").contains(&"TOSS_SECRET_KEY"));
        assert!(findings(b"{\"secretKey\":1}").contains(&"secretKey"));
        assert!(findings(b"test_sk_sandboxTossPaymentsSecretKey").contains(&"sandboxTossPaymentsSecretKey"));
    }

    #[test]
    fn a_client_key_is_not_a_leak() {
        assert!(findings(b"test_ck_sandboxTossPaymentsClientKey live_ck_x a secret key (the `_sk_` kind)").is_empty());
    }

    #[test]
    fn a_directory_with_a_leak_fails_the_scan_and_a_clean_one_passes() {
        let dir = std::env::temp_dir().join(format!("xtask-scan-{}", std::process::id()));
        let nested = dir.join("nested");
        std::fs::create_dir_all(&nested).expect("temp dir");
        std::fs::write(dir.join("app.js"), "const clientKey = 'test_ck_x';").expect("write");
        let arg = vec![dir.to_string_lossy().into_owned()];
        assert_eq!(scan(&arg), 0);
        std::fs::write(nested.join("app_bg.wasm"), b"\0\0live_sk_abc\0").expect("write");
        assert_eq!(scan(&arg), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
