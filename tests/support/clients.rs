//! Running the real Python IMDS clients (tests/clients/*.py) and curl.
//!
//! The venv's python comes from IMDS_SPOOF_PYTHON (scripts/python-env.sh prints it). When it
//! is unset the test is skipped with a printed reason, unless IMDS_SPOOF_REQUIRE_CLIENTS=1,
//! which CI sets so that a missing client fails instead of passing silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const REQUIRE: &str = "IMDS_SPOOF_REQUIRE_CLIENTS";

/// The venv python, or None (with the reason printed) when the test should be skipped.
pub fn python(test: &str) -> Option<PathBuf> {
    match std::env::var_os("IMDS_SPOOF_PYTHON").filter(|value| !value.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.exists(),
                "IMDS_SPOOF_PYTHON={} does not exist (run scripts/python-env.sh)",
                path.display()
            );
            Some(path)
        }
        None if super::required(REQUIRE) => panic!(
            "{test}: IMDS_SPOOF_PYTHON is unset but {REQUIRE}=1; \
             export IMDS_SPOOF_PYTHON=\"$(bash scripts/python-env.sh | tail -n1)\""
        ),
        None => {
            skip(
                test,
                "IMDS_SPOOF_PYTHON is unset (run `bash scripts/test.sh`, or export \
                 IMDS_SPOOF_PYTHON=\"$(bash scripts/python-env.sh | tail -n1)\")",
            );
            None
        }
    }
}

/// The system curl, or None (reason printed) when it is missing and not required.
pub fn curl(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("curl"))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => Some(path),
        None if super::required(REQUIRE) => {
            panic!("{test}: curl is not installed but {REQUIRE}=1 (apt-get install -y curl)")
        }
        None => {
            skip(test, "curl is not installed (apt-get install -y curl)");
            None
        }
    }
}

/// Prints why a test is skipped. Written to the process's stderr directly: the test
/// harness captures `eprintln!` of passing tests, which would hide the reason.
fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// What one client script run produced.
#[derive(Debug)]
pub struct ScriptRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The JSON summary (the last stdout line).
    pub summary: Value,
}

impl ScriptRun {
    /// Panics with the script's own reasons unless it exited 0.
    pub fn assert_ok(&self, what: &str) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "{what} failed (exit {:?})\nstderr:\n{}\nstdout:\n{}",
            self.code,
            self.stderr,
            self.stdout
        );
        self
    }
}

/// tests/clients/NAME.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

/// Runs `python tests/clients/SCRIPT ARGS...` and parses its JSON summary line.
pub fn run_script(python: &Path, name: &str, args: &[String]) -> ScriptRun {
    let output = Command::new(python)
        .arg(script(name))
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {} {name}: {err}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let code = output.status.code();
    assert_ne!(
        code,
        Some(3),
        "{name} hit an internal error (a script bug, not a server finding):\n{stderr}"
    );
    assert_ne!(code, Some(2), "{name}: bad usage {args:?}:\n{stderr}");
    let summary = stdout
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with('{'))
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| {
            panic!("{name} printed no JSON summary (exit {code:?})\nstdout:\n{stdout}\nstderr:\n{stderr}")
        });
    ScriptRun {
        code,
        stdout,
        stderr,
        summary,
    }
}

/// Arguments for botocore_check.py expecting `expected` from `endpoint`.
pub fn botocore_args(endpoint: &str, expected: &super::Expected, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--endpoint",
        endpoint,
        "--expect-access-key",
        &expected.access_key,
        "--expect-secret",
        &expected.secret,
        "--expect-token",
        &expected.token,
        "--expect-region",
        &expected.region,
        "--expect-role",
        &expected.role,
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

/// The first 16 hex digits of sha256(value): how the scripts report secrets.
pub fn sha_prefix(value: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(value.as_bytes());
    digest
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()[..16]
        .to_string()
}
