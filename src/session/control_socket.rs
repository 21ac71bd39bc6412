//! The private control socket of a running `up`, `serve` or dashboard:
//! `<base>/control-<pid>.sock`, where `imds-spoof mfa CODE` hands over an MFA code.
//!
//! As for the report socket (`report_socket.rs`): a unix socket in the private base (0700,
//! ours), mode 0600, and the peer must be this user. Unlike it, this one reads: one JSON
//! line of at most 4 KiB within 5 s, `{"mfa_code": "123456", "serial": null}`; it answers
//! one JSON line, `{"ok": true, "message": …}` or `{"ok": false, "error": …}`, and closes.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use crate::provider::CredentialResolver;

const PREFIX: &str = "control-";
const SUFFIX: &str = ".sock";
/// A request is a short JSON line.
const MAX_REQUEST: u64 = 4 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The answer waits on STS (GetSessionToken): longer than a plain read.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// What a client asks.
#[derive(Debug, Serialize, Deserialize)]
pub struct ControlRequest {
    pub mfa_code: String,
    #[serde(default)]
    pub serial: Option<String>,
}

/// What the running process answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct ControlAnswer {
    pub ok: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

/// This process's control socket; removed (and its task ended) on drop.
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl ControlSocket {
    /// Answers on `<base>/control-<pid>.sock` with `resolver`'s MFA book.
    pub fn start(resolver: CredentialResolver) -> std::io::Result<ControlSocket> {
        let base = super::socket::private_base()?;
        clear_stale(&base);
        let (path, listener) = super::socket::bind_own(&base, PREFIX, SUFFIX)?;
        let task = tokio::spawn(serve(listener, resolver));
        Ok(ControlSocket { path, task })
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve(listener: UnixListener, resolver: CredentialResolver) {
    loop {
        let stream = super::socket::accept_own(&listener, "control socket").await;
        let resolver = resolver.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(ANSWER_TIMEOUT, answer(stream, &resolver)).await;
        });
    }
}

async fn answer(stream: UnixStream, resolver: &CredentialResolver) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let read = tokio::time::timeout(
        IO_TIMEOUT,
        BufReader::new(read.take(MAX_REQUEST)).read_line(&mut line),
    )
    .await;
    let reply = match read {
        Ok(Ok(_)) => match serde_json::from_str::<ControlRequest>(line.trim()) {
            Ok(request) => match resolver
                .submit_mfa(&request.mfa_code, request.serial.as_deref())
                .await
            {
                Ok(message) => {
                    tracing::info!("{message}");
                    ControlAnswer {
                        ok: true,
                        message: Some(message),
                        error: None,
                    }
                }
                Err(error) => ControlAnswer {
                    ok: false,
                    message: None,
                    error: Some(error),
                },
            },
            Err(err) => ControlAnswer {
                ok: false,
                message: None,
                error: Some(format!("not a control request: {err}")),
            },
        },
        _ => return,
    };
    if let Ok(mut body) = serde_json::to_vec(&reply) {
        body.push(b'\n');
        let _ = tokio::time::timeout(IO_TIMEOUT, write.write_all(&body)).await;
    }
}

fn own_uid() -> Option<u32> {
    super::socket::own_uid().ok()
}

/// Control sockets of processes that are gone.
fn clear_stale(base: &Path) {
    for path in control_sockets(base) {
        let alive = super::socket::owner_alive(&path, PREFIX, SUFFIX);
        if !alive && std::os::unix::net::UnixStream::connect(&path).is_err() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn control_sockets(base: &Path) -> Vec<PathBuf> {
    super::socket::sockets_named(base, PREFIX, SUFFIX)
}

/// Sends `request` to every running process of this user; each answer with its socket.
/// None running is an empty list.
pub async fn send_to_running(
    request: &ControlRequest,
) -> std::io::Result<Vec<(PathBuf, Result<ControlAnswer, String>)>> {
    let base = super::socket::base_path()?;
    match std::fs::symlink_metadata(&base) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
        Ok(meta) if !meta.is_dir() || Some(meta.uid()) != own_uid() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{} is not a directory of this user", base.display()),
            ))
        }
        Ok(_) => {}
    }
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut answers = Vec::new();
    for path in control_sockets(&base) {
        let Ok(mut stream) = UnixStream::connect(&path).await else {
            continue;
        };
        let answer = async {
            stream
                .write_all(&line)
                .await
                .map_err(|err| err.to_string())?;
            let mut reply = String::new();
            BufReader::new(stream.take(MAX_REQUEST * 16))
                .read_line(&mut reply)
                .await
                .map_err(|err| err.to_string())?;
            serde_json::from_str::<ControlAnswer>(reply.trim())
                .map_err(|err| format!("not an answer: {err}"))
        };
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, answer)
            .await
            .unwrap_or_else(|_| Err("no answer in time".to_string()));
        answers.push((path, answer));
    }
    Ok(answers)
}
