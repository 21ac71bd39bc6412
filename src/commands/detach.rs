//! `imds-spoof up --detach`: the same run in the background, for scripts and CI. It returns
//! when network, proxies and broker answer (printing `up`'s ready line), or with the exit
//! status and message `up` would give. The run's log is `up.log` in the state directory
//! (`imds-spoof logs [-f]` shows it); `imds-spoof down` stops it and cleans up.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cli::{GlobalArgs, LogsArgs, UpArgs};

/// How long the background run may take to come up (a first proxy image pull included).
const READY_WITHIN: Duration = Duration::from_secs(300);
/// How long `down` waits for a detached run to stop after SIGTERM.
const STOP_WITHIN: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DetachError {
    #[error("an imds-spoof up --detach is already running (pid {pid}; log {log}): `imds-spoof down` stops it")]
    AlreadyRunning { pid: u32, log: String },
    /// The background run ended before it was ready: its exit status (None: no usable
    /// one, e.g. killed by a signal) and the end of its log.
    #[error("{message}")]
    Failed { status: Option<u8>, message: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DetachError {
    let what = what.into();
    move |source| DetachError::Io { what, source }
}

/// `$XDG_STATE_HOME/imds-spoof`, else `~/.local/state/imds-spoof`: made 0700.
pub fn state_dir() -> Result<PathBuf, DetachError> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .ok_or_else(|| DetachError::Io {
            what: "the state directory".into(),
            source: std::io::Error::other("neither XDG_STATE_HOME nor HOME is set"),
        })?;
    let dir = base.join("imds-spoof");
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io(format!("securing {}", dir.display())))?;
    Ok(dir)
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("up.log")
}

fn pid_path(dir: &Path) -> PathBuf {
    dir.join("up.pid")
}

/// The pid of the detached run, if one is alive (its pid file names a running imds-spoof).
pub fn running(dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_path(dir))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let command = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let ours = command
        .split(|byte| *byte == 0)
        .next()
        .is_some_and(|program| String::from_utf8_lossy(program).contains("imds-spoof"));
    ours.then_some(pid)
}

/// Starts `up` in the background and waits for its ready line.
pub async fn up(global: &GlobalArgs, args: &UpArgs) -> Result<(), DetachError> {
    let dir = state_dir()?;
    let log = log_path(&dir);
    if let Some(pid) = running(&dir) {
        return Err(DetachError::AlreadyRunning {
            pid,
            log: log.display().to_string(),
        });
    }
    crate::config::check_target(&log).map_err(io(log.display().to_string()))?;
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&log)
        .map_err(io(format!("opening {}", log.display())))?;
    let exe = std::env::current_exe().map_err(io("finding this program"))?;
    let mut command = Command::new(exe);
    if let Some(config) = &global.config {
        command.arg("--config").arg(config);
    }
    if let Some(identity) = &global.identity {
        command.arg("--identity").arg(identity);
    }
    command.arg("up");
    if args.json {
        command.arg("--json");
    }
    if let Some(file) = &args.log_requests {
        command.arg("--log-requests").arg(file);
    }
    if let Some(image) = &args.proxy_image {
        command.arg("--proxy-image").arg(image);
    }
    // Its own process group: Ctrl-C in this terminal is not for it.
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .process_group(0);
    let mut child = command.spawn().map_err(io("starting imds-spoof up"))?;
    let pid = child.id();
    crate::config::write_file_atomically(&pid_path(&dir), pid.to_string().as_bytes(), 0o600)
        .map_err(io("writing the pid file"))?;
    let stdout = child.stdout.take();
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.map(|out| BufReader::new(out).read_line(&mut line));
        line
    });
    let line = tokio::time::timeout(READY_WITHIN, ready)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    if !line.trim().is_empty() {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", line.trim_end());
        let _ = stdout.flush();
        eprintln!(
            "imds-spoof: running in the background (pid {pid}); log {}; `imds-spoof down` stops it",
            log.display()
        );
        return Ok(());
    }
    // Not ready: it ended (or hangs past the limit, then it is stopped).
    let status = match child.try_wait() {
        Ok(Some(status)) => status,
        _ => {
            stop_pid(pid).await;
            child.wait().map_err(io("waiting for imds-spoof up"))?
        }
    };
    let _ = std::fs::remove_file(pid_path(&dir));
    let tail = log_tail(&log, 20);
    Err(DetachError::Failed {
        status: status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .filter(|code| *code != 0),
        message: format!(
            "imds-spoof up did not come up; the end of {}:\n{tail}",
            log.display()
        ),
    })
}

/// `down`: stops a detached run with SIGTERM (it removes its proxies as on Ctrl-C) and waits
/// for it to end. Returns the pid it stopped.
pub async fn stop_detached() -> Option<u32> {
    let dir = state_dir().ok()?;
    let pid = running(&dir)?;
    stop_pid(pid).await;
    let _ = std::fs::remove_file(pid_path(&dir));
    Some(pid)
}

async fn stop_pid(pid: u32) {
    // kill(1), not kill(2): the crate keeps one `unsafe` site (provider/command.rs).
    let sent = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await;
    if let Err(err) = sent {
        tracing::warn!("cannot signal the background run (pid {pid}): {err}");
        return;
    }
    let gone = || !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid);
    let deadline = tokio::time::Instant::now() + STOP_WITHIN;
    while !gone() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A process that ended but was not reaped (its parent, `up --detach`, is gone: init reaps
/// it soon) counts as gone.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| rest.starts_with('Z'))
        })
        .unwrap_or(true)
}

/// The last `lines` lines of the log.
fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `imds-spoof logs [-f]`: the detached run's log; with -f, what it appends, until Ctrl-C.
pub async fn logs(args: &LogsArgs) -> Result<(), DetachError> {
    let log = log_path(&state_dir()?);
    crate::config::check_target(&log).map_err(io(log.display().to_string()))?;
    let mut file = std::fs::File::open(&log).map_err(io(format!(
        "{} (no `imds-spoof up --detach` has run)",
        log.display()
    )))?;
    let mut stdout = std::io::stdout();
    let mut buffer = Vec::new();
    file.read_to_end(&mut buffer)
        .map_err(io(log.display().to_string()))?;
    stdout.write_all(&buffer).map_err(io("writing the log"))?;
    stdout.flush().map_err(io("writing the log"))?;
    if !args.follow {
        return Ok(());
    }
    let mut at = file
        .stream_position()
        .map_err(io(log.display().to_string()))?;
    let stop = crate::session::stop_requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        let length = std::fs::metadata(&log).map(|meta| meta.len()).unwrap_or(at);
        if length < at {
            // A new run truncated it: from the start.
            at = 0;
        }
        if length == at {
            continue;
        }
        file.seek(SeekFrom::Start(at))
            .map_err(io(log.display().to_string()))?;
        buffer.clear();
        file.read_to_end(&mut buffer)
            .map_err(io(log.display().to_string()))?;
        at += buffer.len() as u64;
        stdout.write_all(&buffer).map_err(io("writing the log"))?;
        stdout.flush().map_err(io("writing the log"))?;
    }
}
