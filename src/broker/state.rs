//! Everything a request handler needs, shared by all requests of one broker.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::access::{AccessPolicy, CallerDirectory};
use super::doors::imds::TokenStore;
use super::doors::keys::DoorKeys;
use super::doors::task_metadata_source::TaskMetadataSource;
use super::pacer::CallerPacer;
use super::record::Recorder;
use crate::config::ConfigStore;
use crate::provider::Provider;

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
    pub doors: DoorKeys,
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
        let doors = DoorKeys::for_store(&store);
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

/// The parts a caller adds to a new state, the same way for `serve` and the session.
impl BrokerState {
    /// Records into `recorder` (the session's, or one writing a request log).
    pub fn with_recorder(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = recorder;
        self
    }

    /// Names calling containers (the session's caller book).
    pub fn with_callers(mut self, callers: Arc<dyn CallerDirectory>) -> Self {
        self.callers = Some(callers);
        self
    }

    /// Reads task metadata of callers' containers (the session, over Docker).
    pub fn with_task_metadata(mut self, source: Arc<dyn TaskMetadataSource>) -> Self {
        self.task_metadata = Some(source);
        self
    }

    /// Asks ECS requests on loopback for this run's container token.
    pub fn with_container_token(mut self, token: String) -> Self {
        self.doors.container_token = Some(token);
        self
    }
}
