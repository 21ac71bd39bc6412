//! The broker: an axum server speaking the IMDS protocol (tokens, listings, EC2's
//! answers and errors) in front of a provider, recording every exchange.
//! It knows HTTP and IMDS, not the dashboard or Docker.

mod access;
pub mod doors;
mod exchange;
mod extended;
mod faults;
mod handler;
mod limits;
mod lines;
mod log_options;
mod pacer;
pub mod readiness;
mod record;
mod record_text;
mod responses;
mod ring;
mod server;
mod token_path;
mod tokens;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use tokio_util::sync::CancellationToken;

pub use access::{
    AccessPolicy, CallerDirectory, CallerInfo, CALLER_HEADER, IMDS_ADDRESS, SECRET_HEADER,
};
pub use doors::{Door, DoorKeys, TaskMetadataSource};
pub use lines::{spawn_request_lines, LineFormat};
pub use pacer::CallerPacer;
pub use record::{mask, mask_json_secrets, ExchangeRecord, ImdsVersion, Recorder};
pub use record_text::{HeaderList, SharedText};
pub use responses::{error_page, SERVER, TOKEN_HEADER, TOKEN_TTL_HEADER};
pub use ring::{RecordStream, READER_GATHER};
pub use server::{Connection, ConnectionControl, PeerAddr};
pub use tokens::TokenStore;

use crate::config::ConfigStore;
use crate::provider::Provider;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr}: {source}{}", if hint.is_empty() { String::new() } else { format!(" ({hint})") })]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
        hint: String,
    },
    #[error("cannot listen on the unix socket {}: {source}", path.display())]
    BindUnix {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot prepare the broker's socket directory: {0}")]
    SocketDir(std::io::Error),
    #[error("refusing to listen on {0}: the broker never listens on every interface (credentials would be reachable from the network)")]
    Unspecified(SocketAddr),
    #[error("request log {path}: {source}")]
    RequestLog {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Everything a request handler needs, shared by all requests.
pub struct BrokerState {
    pub store: ConfigStore,
    pub provider: Arc<dyn Provider>,
    pub tokens: TokenStore,
    pub token_pace: CallerPacer,
    /// ECS task metadata requests per caller (the agent's own limit).
    pub task_metadata_pace: CallerPacer,
    pub recorder: Arc<Recorder>,
    pub access: AccessPolicy,
    pub callers: Option<Arc<dyn CallerDirectory>>,
    /// The ECS and EKS doors' secrets.
    pub doors: doors::DoorKeys,
    /// Reads task metadata of the caller's container (the session, over Docker); None
    /// answers every caller as no container.
    pub task_metadata: Option<Arc<dyn TaskMetadataSource>>,
    /// Log a line per request (headless `serve` / `up`).
    /// Ends requests that deliberately never answer.
    pub shutdown: CancellationToken,
}

impl BrokerState {
    pub fn new(store: ConfigStore, provider: Arc<dyn Provider>, access: AccessPolicy) -> Self {
        let capacity = store.current().broker.record_capacity;
        let doors = doors::DoorKeys::for_store(&store);
        Self {
            store,
            provider,
            tokens: TokenStore::default(),
            token_pace: CallerPacer::token_requests(),
            task_metadata_pace: CallerPacer::task_metadata(),
            recorder: Arc::new(Recorder::new(capacity)),
            access,
            callers: None,
            doors,
            task_metadata: None,
            shutdown: CancellationToken::new(),
        }
    }
}

/// The IMDS router: every path and method goes to the one handler, which answers as EC2.
/// For in-process callers (tests); the broker's own server calls the handler directly.
pub fn router(state: Arc<BrokerState>) -> Router {
    Router::new().fallback(handler::handle).with_state(state)
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
