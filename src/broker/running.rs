//! A running broker: where it listens (TCP or a unix socket), started and stopped as a
//! whole; and the router for in-process callers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;

use super::error::BrokerError;
use super::record::Recorder;
use super::state::BrokerState;
use super::{pipeline, server};

/// The IMDS router: every path and method goes to the one handler, which answers as EC2.
/// For in-process callers (tests); the broker's own server calls the handler directly.
pub fn router(state: Arc<BrokerState>) -> Router {
    Router::new().fallback(pipeline::handle).with_state(state)
}

/// Where a broker listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(SocketAddr),
    /// A unix socket (behind the proxy on a local Linux engine).
    Unix(PathBuf),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(addr) => write!(f, "{addr}"),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A running broker.
pub struct Broker {
    pub endpoint: Endpoint,
    pub state: Arc<BrokerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Broker {
    /// Binds `addr` (never an unspecified address) and serves until [`Broker::stop`].
    pub async fn start(addr: SocketAddr, state: Arc<BrokerState>) -> Result<Broker, BrokerError> {
        let listener = Self::bind(addr).await?;
        Self::serve(listener, state)
    }

    /// Binds a unix socket at `path` (replacing a stale one) and serves until [`Broker::stop`].
    pub fn start_unix(path: &Path, state: Arc<BrokerState>) -> Result<Broker, BrokerError> {
        let listener = server::bind_unix(path)?;
        Ok(Self::spawn(
            server::Listener::Unix(listener),
            Endpoint::Unix(path.to_path_buf()),
            state,
        ))
    }

    /// Binds `addr` without serving yet, so the caller can learn the bound port first.
    pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, BrokerError> {
        if addr.ip().is_unspecified() {
            return Err(BrokerError::Unspecified(addr));
        }
        server::bind(addr).await
    }

    /// Serves on a listener from [`Broker::bind`] until [`Broker::stop`].
    pub fn serve(
        listener: tokio::net::TcpListener,
        state: Arc<BrokerState>,
    ) -> Result<Broker, BrokerError> {
        let local_addr = listener.local_addr().map_err(|source| BrokerError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
            hint: String::new(),
        })?;
        Ok(Self::spawn(
            server::Listener::Tcp(listener),
            Endpoint::Tcp(local_addr),
            state,
        ))
    }

    fn spawn(listener: server::Listener, endpoint: Endpoint, state: Arc<BrokerState>) -> Broker {
        let task = tokio::spawn(server::serve(
            listener,
            state.clone(),
            state.shutdown.clone(),
        ));
        Broker {
            endpoint,
            state,
            task,
        }
    }

    /// The TCP address it listens on (None on a unix socket).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.endpoint {
            Endpoint::Tcp(addr) => Some(*addr),
            Endpoint::Unix(_) => None,
        }
    }

    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.state.recorder
    }

    /// Stops accepting, ends hanging requests and waits for the accept loop.
    pub async fn stop(self) {
        self.state.shutdown.cancel();
        let _ = self.task.await;
    }
}
