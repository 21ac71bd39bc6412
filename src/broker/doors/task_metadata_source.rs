//! What the ECS door asks of whoever can read containers (the session, over Docker) to
//! answer task metadata: the broker itself knows no Docker.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use crate::config::Identity;
use crate::imds::task_metadata::TaskDocument;

/// What the broker asks the source for: the caller's container and the identity it plays.
#[derive(Debug, Clone)]
pub struct TaskMetadataRequest {
    /// The caller's container (its name, from the caller directory).
    pub container: String,
    /// The address the caller came from: the container must still hold it.
    pub caller_ip: IpAddr,
    pub identity: Identity,
    pub document: TaskDocument,
}

/// Why no document was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskMetadataError {
    /// The container is gone or no longer holds the caller's address (why): a lookup
    /// failure, never another container's data.
    NotFound(String),
    /// `/stats` of a container with no sample (not running, or none within the wait).
    NoStats { docker_id: String, why: String },
    /// The engine could not be read (why).
    Engine(String),
}

pub type TaskMetadataFuture<'a> =
    Pin<Box<dyn Future<Output = Result<String, TaskMetadataError>> + Send + 'a>>;

/// Builds task metadata documents of containers (implemented by the session over Docker).
pub trait TaskMetadataSource: Send + Sync {
    /// The JSON of `request.document` as `request.container` reads it.
    fn document(&self, request: TaskMetadataRequest) -> TaskMetadataFuture<'_>;
}
