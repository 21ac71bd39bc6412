//! Everything a request handler needs, shared by all requests of one broker.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::access::{AccessPolicy, CallerDirectory};
use super::doors::keys::DoorKeys;
use super::doors::task_metadata_source::TaskMetadataSource;
use super::pacer::CallerPacer;
use super::record::Recorder;
use super::tokens::TokenStore;
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
