//! `imds-spoof serve` on a free loopback port as a child process, killed on drop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use toml_edit::DocumentMut;

use super::{read_lossy, sample, temp_dir, write_config};

/// The binary under test, built by cargo for integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_imds-spoof");

/// How long a server may take to print its ready line (debug build, first-run key creation,
/// a loaded 2-core machine).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A server for the sample configuration edited by `edit`, in a directory of its own that
/// lives as long as the server ([`Server::dir`]).
pub fn serve_sample(edit: impl FnOnce(&mut DocumentMut), options: ServeOptions) -> Server {
    let dir = temp_dir();
    let mut doc = sample();
    edit(&mut doc);
    let config = write_config(dir.path(), "config.toml", &doc);
    Server::start_with(&config, options).keeping(dir)
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
        let mut command = killed_with_parent(BIN);
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

/// A command for `program` that the kernel kills when the thread that spawned it goes away,
/// so a test binary killed by Ctrl-C or a CI timeout (Drop never runs) leaves no server
/// behind. util-linux's `setpriv --pdeathsig` sets that up and execs `program` (same pid);
/// without setpriv the command is plain and only Drop stops it.
fn killed_with_parent(program: &str) -> Command {
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|path| Path::new(path).is_file());
    match setpriv {
        Some(setpriv) => {
            let mut command = Command::new(setpriv);
            command.args(["--pdeathsig", "KILL", "--", program]);
            command
        }
        None => Command::new(program),
    }
}
