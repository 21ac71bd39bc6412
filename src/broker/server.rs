//! The accept loop: one hyper HTTP/1 connection per client, with the peer's address
//! and a way for the handler to close the connection without answering.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Largest request head (request line + headers) accepted; larger ones get 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
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

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
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
                    continue;
                }
            },
        };
        backoff = ACCEPT_BACKOFF_MIN;
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().ok();
        let router = router.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let close = CancellationToken::new();
            let control = ConnectionControl(close.clone());
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(PeerAddr(peer));
                    if let Some(local) = local {
                        request.extensions_mut().insert(LocalAddr(local));
                    }
                    request.extensions_mut().insert(control.clone());
                    router.clone().oneshot(request.map(axum::body::Body::new))
                },
            );
            let connection = hyper::server::conn::http1::Builder::new()
                .max_buf_size(MAX_HEAD_BYTES)
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
