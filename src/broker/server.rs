//! The accept loop (TCP or a unix socket): one hyper HTTP/1 connection per client, with the
//! peer's address (TCP) and a way for the handler to close the connection without answering.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Idle keep-alive connections are closed after this.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Pauses after a failed accept (out of descriptors): from this, doubling, up to the max.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_millis(200);

/// The address of the connection's peer, as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The address the connection reached (the bound port when listening on port 0).
#[derive(Debug, Clone, Copy)]
pub struct LocalAddr(pub SocketAddr);

/// Lets a handler close its connection without sending anything (the "drop" fault).
#[derive(Debug, Clone)]
pub struct ConnectionControl(CancellationToken);

impl ConnectionControl {
    pub fn close_now(&self) {
        self.0.cancel();
    }
}

/// What the broker accepts connections on: TCP (loopback, or the host through Docker
/// Desktop's forwarding), or a unix socket bind-mounted into the proxy container (a local
/// Linux engine), so that the proxy→broker leg never crosses the bridge that application
/// containers share (where they could capture it with ARP spoofing).
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: Listener, router: Router, shutdown: CancellationToken) {
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
                spawn_connection(stream, Some(peer), local, &router, &shutdown);
                Ok(())
            }
            // A unix peer has no IP address: the handler sees no PeerAddr, and the proxy
            // policy (proxy_ip: None) admits it by the secret alone.
            Ok(Accepted::Unix(stream)) => {
                spawn_connection(stream, None, None, &router, &shutdown);
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
    router: &Router,
    shutdown: &CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let router = router.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let close = CancellationToken::new();
        let control = ConnectionControl(close.clone());
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                if let Some(peer) = peer {
                    request.extensions_mut().insert(PeerAddr(peer));
                }
                if let Some(local) = local {
                    request.extensions_mut().insert(LocalAddr(local));
                }
                request.extensions_mut().insert(control.clone());
                router.clone().oneshot(request.map(axum::body::Body::new))
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .max_buf_size(super::limits::HYPER_HEAD_CAP)
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            _ = connection.as_mut() => {}
            // Dropping the connection closes the socket without a response.
            _ = close.cancelled() => {}
            _ = shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(1), connection).await;
            }
        }
    });
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
