//! Why a broker could not start serving.

use std::net::SocketAddr;

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
