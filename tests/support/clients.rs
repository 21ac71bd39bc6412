//! Running the real Python IMDS clients (tests/clients/*.py). The venv's python comes from
//! `support::need::python` (IMDS_SPOOF_PYTHON, skipped or required like every precondition).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

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
        // The scripts import check_common.py: leave no __pycache__ in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
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
    let mut args = vec!["--endpoint".to_string(), endpoint.to_string()];
    args.extend(expectation_args(expected));
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

/// botocore_check.py's `--expect-*` arguments for `expected` (keys, region, role).
pub fn expectation_args(expected: &super::Expected) -> Vec<String> {
    [
        ("--expect-access-key", &expected.access_key),
        ("--expect-secret", &expected.secret),
        ("--expect-token", &expected.token),
        ("--expect-region", &expected.region),
        ("--expect-role", &expected.role),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_string(), value.clone()])
    .collect()
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

/// tests/clients/profile_check.py MODE [PROFILE] in exactly `env` (no other AWS or boto
/// setting of the caller's); its JSON summary.
pub fn profile_check(python: &Path, env: &[(String, String)], args: &[&str]) -> Value {
    let mut command = Command::new(python);
    command.arg(script("profile_check.py")).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") || key.starts_with("BOTO") {
            command.env_remove(key);
        }
    }
    let output = command
        .envs(env.iter().map(|(key, value)| (key, value)))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run profile_check.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "profile_check.py {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("profile_check.py printed no JSON: {stdout}"))
}

/// Whom STS at `sts` says the keys of an IMDS credentials document belong to (their ARN).
pub fn whoami(python: &Path, sts: &str, document: &Value) -> String {
    let field = |name: &str| document[name].as_str().unwrap_or_default().to_string();
    let env = [
        ("AWS_ENDPOINT_URL_STS", sts.to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", field("AccessKeyId")),
        ("AWS_SECRET_ACCESS_KEY", field("SecretAccessKey")),
        ("AWS_SESSION_TOKEN", field("Token")),
        ("AWS_CONFIG_FILE", "/dev/null".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_string()),
    ]
    .map(|(key, value)| (key.to_string(), value));
    profile_check(python, &env, &["whoami"])["arn"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
