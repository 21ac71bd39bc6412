//! The proxy containers a run started: kept by the session, shared with the monitor
//! (which drops one that dies), started and removed by `proxies.rs`.

use std::sync::Mutex;

use crate::docker::ProxyEndpoint;

/// A proxy container this run started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunningProxy {
    pub endpoint: ProxyEndpoint,
    pub id: String,
}

/// The run's proxy containers, shared with the monitor (which drops one that dies).
pub(crate) type Proxies = std::sync::Arc<Mutex<Vec<RunningProxy>>>;
