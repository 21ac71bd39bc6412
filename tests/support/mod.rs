//! Helpers for tests that run the real `imds-spoof` binary: a server guard that starts
//! `imds-spoof serve` on a free loopback port and kills it on drop, configuration files
//! derived from the shipped sample, and small utilities.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod aws;
pub mod clients;
pub mod http;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use toml_edit::DocumentMut;

/// The binary under test, built by cargo for integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_imds-spoof");

/// How long a server may take to print its ready line (debug build, first-run key creation,
/// a loaded 2-core machine).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The shipped sample configuration, parsed for editing. Tests derive every variant from it,
/// so a change to the sample's layout makes these tests fail loudly rather than drift.
pub fn sample() -> DocumentMut {
    imds_spoof::config::SAMPLE_CONFIG
        .parse()
        .expect("the sample configuration parses")
}

/// A server for the sample configuration edited by `edit`, in a directory of its own that
/// lives as long as the server ([`Server::dir`]).
pub fn serve_sample(edit: impl FnOnce(&mut DocumentMut), options: ServeOptions) -> Server {
    let dir = temp_dir();
    let mut doc = sample();
    edit(&mut doc);
    let config = write_config(dir.path(), "config.toml", &doc);
    Server::start_with(&config, options).keeping(dir)
}

/// The role table of the identity at `index` (0 = "default", 1 = "worker").
pub fn role(doc: &mut DocumentMut, index: usize) -> &mut toml_edit::Table {
    doc["identity"]
        .as_array_of_tables_mut()
        .and_then(|identities| identities.get_mut(index))
        .and_then(|identity| identity.get_mut("role"))
        .and_then(|role| role.as_table_mut())
        .expect("sample identity has a [identity.role] table")
}

/// A field of the sample's identity at `index` (e.g. `instance_id`), or of its role
/// (`role.access_key_id`).
pub fn sample_value(index: usize, key: &str) -> String {
    let doc = sample();
    let identity = &doc["identity"]
        .as_array_of_tables()
        .and_then(|identities| identities.get(index))
        .expect("sample identity exists");
    let item = match key.strip_prefix("role.") {
        Some(role_key) => &identity["role"][role_key],
        None => &identity[key],
    };
    item.as_str()
        .unwrap_or_else(|| panic!("sample identity {index} has no string {key}"))
        .to_string()
}

/// The configured credentials and placement of one identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub access_key: String,
    pub secret: String,
    pub token: String,
    pub region: String,
    pub role: String,
}

impl Expected {
    /// What the sample promises for identity `index`.
    pub fn sample_identity(index: usize) -> Expected {
        Expected {
            access_key: sample_value(index, "role.access_key_id"),
            secret: sample_value(index, "role.secret_access_key"),
            token: sample_value(index, "role.session_token"),
            region: sample_value(index, "region"),
            role: sample_value(index, "role.name"),
        }
    }
}

/// Replaces a role's static keys by another source (`command`, `profile`).
pub fn set_role_source(doc: &mut DocumentMut, index: usize, fields: &[(&str, &str)]) {
    let role = role(doc, index);
    for key in [
        "source",
        "access_key_id",
        "secret_access_key",
        "session_token",
    ] {
        role.remove(key);
    }
    for (key, value) in fields {
        role[*key] = toml_edit::value(*value);
    }
}

/// A temporary directory that disappears with the test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("imds-spoof-test-")
        .tempdir()
        .expect("create a temporary directory")
}

/// Writes `doc` as `NAME` in `dir` and returns its path.
pub fn write_config(dir: &Path, name: &str, doc: &DocumentMut) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, doc.to_string()).expect("write the test configuration");
    path
}

/// Writes an executable shell script.
pub fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// `imds-spoof serve --listen 127.0.0.1:0` as a child process, killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    stderr_path: PathBuf,
    /// Keeps the server's scratch directory (stderr capture) alive.
    _scratch: tempfile::TempDir,
    /// The configuration directory, removed only after the process is gone.
    dir: Option<tempfile::TempDir>,
}

/// How to start a server.
#[derive(Default)]
pub struct ServeOptions {
    pub extra_args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Server {
    /// Serves `config` with default options.
    pub fn start(config: &Path) -> Server {
        Server::start_with(config, ServeOptions::default())
    }

    pub fn start_with(config: &Path, options: ServeOptions) -> Server {
        Server::try_start(config, &options).unwrap_or_else(|failure| panic!("{failure}"))
    }

    fn try_start(config: &Path, options: &ServeOptions) -> Result<Server, String> {
        let scratch = temp_dir();
        let stderr_path = scratch.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("create stderr capture");
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .args(&options.extra_args)
            .env("IMDS_SPOOF_LOG", "info")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (key, value) in &options.env {
            command.env(key, value);
        }
        // If the test binary is killed (Ctrl-C, a CI timeout) Drop never runs: have the
        // kernel stop the server when the thread that started it goes away.
        // SAFETY: prctl is async-signal-safe and touches only the child's own state.
        #[allow(unsafe_code)] // until the test support drops libc
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|err| format!("cannot run {BIN}: {err}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready_tx, ready_rx) = mpsc::channel();
        // Reads the ready line, then keeps draining so the server never blocks on stdout.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(addr) = parse_ready_line(&line) {
                    let _ = ready_tx.send(addr);
                    break;
                }
                line.clear();
            }
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let started = Instant::now();
        loop {
            match ready_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => {
                    return Ok(Server {
                        child,
                        addr,
                        stderr_path,
                        _scratch: scratch,
                        dir: None,
                    })
                }
                Err(mpsc::RecvTimeoutError::Timeout)
                | Err(mpsc::RecvTimeoutError::Disconnected) => {}
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "imds-spoof serve exited with {status} before it was ready; stderr:\n{}",
                    read_lossy(&stderr_path)
                ));
            }
            if started.elapsed() > READY_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "imds-spoof serve printed no ready line within {READY_TIMEOUT:?}; stderr:\n{}",
                    read_lossy(&stderr_path)
                ));
            }
        }
    }

    /// Ties `dir` (holding the configuration) to the server's lifetime.
    pub fn keeping(mut self, dir: tempfile::TempDir) -> Server {
        self.dir = Some(dir);
        self
    }

    /// The directory passed to [`Server::keeping`].
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("server keeps a directory").path()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr_path)
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.stderr();
            let tail: String = log
                .chars()
                .rev()
                .take(6000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            eprintln!(
                "--- imds-spoof serve {} stderr (tail) ---\n{tail}",
                self.addr
            );
        }
    }
}

/// `imds-spoof serving on http://ADDR (config ..., identity ...)` → ADDR.
pub fn parse_ready_line(line: &str) -> Option<SocketAddr> {
    let rest = line.split("serving on http://").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

pub fn read_lossy(path: &Path) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if started.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// True when the environment says a missing prerequisite must fail the test.
pub fn required(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|value| value == "1" || value.eq_ignore_ascii_case("true"))
}
