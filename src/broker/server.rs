//! The accept loop (TCP or a unix socket): one hyper HTTP/1 connection per client, with the
//! peer's address (TCP) and a way for the handler to close the connection without answering.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use super::connection::{Connection, ConnectionControl};
use super::BrokerState;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

/// A connection is closed when a whole period of this passes with no request begun and none
/// being answered: an idle keep-alive connection, or a request head that never completes
/// (slow clients that would hold descriptors), goes after 15 to 30 s.
const IDLE_CHECK: Duration = Duration::from_secs(15);
/// Pauses after a failed accept (out of descriptors): from this, doubling, up to the max.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_millis(200);

/// What the broker accepts connections on: TCP (loopback, or the host through Docker
/// Desktop's forwarding), or a unix socket bind-mounted into the proxy container (a local
/// Linux engine), so that the proxy→broker leg never crosses the bridge that application
/// containers share (where they could capture it with ARP spoofing).
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// Serves the broker on `listener` until `shutdown` is cancelled. Requests go straight to
/// the handler: the router (`broker::router`, for in-process callers) only has the one
/// fallback, and matching every path against it cost a third of hyper's own work.
pub async fn serve(listener: Listener, state: Arc<BrokerState>, shutdown: CancellationToken) {
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = accept(&listener) => accepted,
        };
        let result = match accepted {
            Ok(Accepted::Tcp(stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr().ok();
                spawn_connection(stream, Some(peer), local, &state, &shutdown);
                Ok(())
            }
            // A unix peer has no IP address: the handler sees no peer address, and the proxy
            // policy (proxy_ip: None) admits it by the secret alone.
            Ok(Accepted::Unix(stream)) => {
                spawn_connection(stream, None, None, &state, &shutdown);
                Ok(())
            }
            Err(err) => Err(err),
        };
        match result {
            Ok(()) => backoff = ACCEPT_BACKOFF_MIN,
            Err(err) => {
                // Out of file descriptors and the like: wait for connections to close
                // instead of spinning, longer while it lasts, and say so once a round.
                if backoff == ACCEPT_BACKOFF_MIN {
                    tracing::warn!("accept failed: {err}; backing off");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
            }
        }
    }
}

enum Accepted {
    Tcp(TcpStream, SocketAddr),
    Unix(UnixStream),
}

async fn accept(listener: &Listener) -> std::io::Result<Accepted> {
    match listener {
        Listener::Tcp(listener) => {
            let (stream, peer) = listener.accept().await?;
            Ok(Accepted::Tcp(stream, peer))
        }
        Listener::Unix(listener) => {
            let (stream, _) = listener.accept().await?;
            Ok(Accepted::Unix(stream))
        }
    }
}

/// Serves one connection (TCP or unix alike) in its own task.
fn spawn_connection<S>(
    stream: S,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    state: &Arc<BrokerState>,
    shutdown: &CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let state = state.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        // Cancelled by the handler (close now) or with the server (shut down gracefully):
        // one token for the connection to wait on.
        let close = shutdown.child_token();
        let connection = Arc::new(Connection {
            peer,
            local,
            control: ConnectionControl(close.clone()),
        });
        let activity = Arc::new(Activity::default());
        let seen = activity.clone();
        let service =
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let answering = Answering::start(&activity);
                let answer =
                    super::pipeline::answer(state.clone(), request, Some(connection.clone()));
                async move {
                    let response = answer.await;
                    drop(answering);
                    Ok::<_, Infallible>(response)
                }
            });
        let connection = hyper::server::conn::http1::Builder::new()
            .max_buf_size(super::limits::HYPER_HEAD_CAP)
            // Idle connections are closed by the check below instead: hyper's header
            // timeout armed a timer for every request, and cost a second read per request.
            .header_read_timeout(None)
            .serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        let idle_check = tokio::time::sleep(IDLE_CHECK);
        let mut idle_check = std::pin::pin!(idle_check);
        let mut requests_seen = 0;
        loop {
            tokio::select! {
                _ = connection.as_mut() => return,
                () = close.cancelled() => {
                    if shutdown.is_cancelled() {
                        connection.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(Duration::from_secs(1), connection).await;
                    }
                    // Otherwise the handler asked: dropping the connection closes the
                    // socket without a response.
                    return;
                }
                () = idle_check.as_mut() => {
                    let requests = seen.requests.load(Ordering::Relaxed);
                    if requests == requests_seen && seen.answering.load(Ordering::Relaxed) == 0 {
                        // No request began in a whole period and none is being answered:
                        // idle keep-alive, or a request head that never completes.
                        return;
                    }
                    requests_seen = requests;
                    idle_check.as_mut().reset(tokio::time::Instant::now() + IDLE_CHECK);
                }
            }
        }
    });
}

/// A connection's requests, counted for its idle check.
#[derive(Default)]
struct Activity {
    /// Requests begun on the connection.
    requests: AtomicU64,
    /// Requests being answered now (one, but a "hang" answer lasts until the caller goes).
    answering: AtomicU32,
}

/// One request being answered; counted as done when dropped (answered or abandoned).
struct Answering(Arc<Activity>);

impl Answering {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::Relaxed);
        activity.answering.fetch_add(1, Ordering::Relaxed);
        Answering(activity.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.answering.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Binds a unix socket at `path` that any local user may connect to (0666): the nginx
/// worker runs as its image's unprivileged user. The per-run secret still guards it, and the
/// directory holding it decides who can reach it at all.
pub fn bind_unix(path: &Path) -> Result<UnixListener, super::BrokerError> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |source: std::io::Error| super::BrokerError::BindUnix {
        path: path.to_path_buf(),
        source,
    };
    // A socket file left by a crashed run of ours would make bind fail with EADDRINUSE.
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(fail(err)),
    }
    let listener = UnixListener::bind(path).map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).map_err(fail)?;
    Ok(listener)
}

/// Binds `addr`, explaining the usual failures.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, super::BrokerError> {
    TcpListener::bind(addr).await.map_err(|source| {
        let hint = match source.kind() {
            std::io::ErrorKind::AddrInUse => {
                format!(
                    "port {} is taken by another program: stop it or choose another port",
                    addr.port()
                )
            }
            std::io::ErrorKind::AddrNotAvailable => {
                format!("{} is not an address of this machine", addr.ip())
            }
            std::io::ErrorKind::PermissionDenied => {
                format!(
                    "port {} needs privileges: choose a port above 1023",
                    addr.port()
                )
            }
            _ => String::new(),
        };
        super::BrokerError::Bind { addr, source, hint }
    })
}
