//! What a session tells its owner (`up`, the dashboard): the state of each part, image
//! pulls, the containers on the network, notices; how it is started; why it failed.

use std::path::PathBuf;

use crate::broker::BrokerError;
use crate::docker::{ContainerInfo, DockerError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Network,
    Proxy,
    Broker,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Network, Part::Proxy, Part::Broker];

    /// Position in [`Part::ALL`].
    pub fn index(self) -> usize {
        match self {
            Part::Network => 0,
            Part::Proxy => 1,
            Part::Broker => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Part::Network => "network",
            Part::Proxy => "proxy",
            Part::Broker => "broker",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartState {
    Stopped,
    /// What it is doing ("pulling nginx:1.27.5-alpine").
    Starting(String),
    /// Detail ("169.254.169.254", "unix:/run/user/1000/imds-spoof/run-…/broker.sock").
    Up(String),
    /// The reason, with what to do.
    Failed(String),
    /// Docker parts when no engine: why ("Docker is not running: ...").
    Unavailable(String),
}

impl PartState {
    /// Up or on its way up: stopping it makes sense.
    pub fn is_running(&self) -> bool {
        matches!(self, PartState::Up(_) | PartState::Starting(_))
    }
}

#[derive(Debug, Clone)]
pub enum SessionEvent {
    Part(Part, PartState),
    /// Image pull progress: bytes done/total over all layers (total 0 = unknown).
    Pull {
        image: String,
        current: u64,
        total: u64,
    },
    Containers(Vec<ContainerInfo>),
    /// Something the user should see in the log pane (also emitted via tracing).
    Notice(String),
    /// A caller on the network that the engine cannot name was answered as
    /// `[containers] unresolved` says: a warning that should stay in sight.
    UnresolvedCaller(String),
}

#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Overrides [proxy] image.
    pub proxy_image: Option<String>,
    /// A line per request on stderr (`up`); None for the dashboard.
    pub request_lines: Option<crate::broker::LineFormat>,
    pub log_requests: Option<PathBuf>,
    /// false = `--no-start` (broker only on loopback).
    pub start_docker: bool,
}

/// Why a strict start (`imds-spoof up`) failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    // Displayed, not chained: BrokerError already prints its io error in its message.
    #[error("{0}")]
    Broker(BrokerError),
    #[error("{0}")]
    Other(String),
}

impl From<BrokerError> for SessionError {
    fn from(err: BrokerError) -> Self {
        SessionError::Broker(err)
    }
}
