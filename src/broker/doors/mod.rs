//! The doors a container knows: IMDS (169.254.169.254), ECS task credentials and task
//! metadata (169.254.170.2) and EKS Pod Identity (169.254.170.23, [fd00:ec2::23])
//! (docs/architecture.md, "Three doors"; docs/doors.md). Each decides its own requests over
//! the shared pipeline (`broker/pipeline.rs`); `route.rs` says which door a request came
//! through.

mod credentials;
pub(super) mod ecs;
pub(super) mod eks;
mod faults;
mod host;
pub(super) mod imds;
pub(crate) mod keys;
pub mod pod_token;
mod replies;
mod route;
pub mod task_metadata;
pub mod task_metadata_source;

pub use keys::{new_container_token, DoorKeys};
pub use pod_token::{PodTokenKey, ServiceAccount};
pub(crate) use route::door_of;
pub use route::{ECS_ADDRESS, ECS_CREDENTIALS_PATH, EKS_ADDRESS, EKS_ADDRESS_V6, EKS_PATH};
pub use task_metadata_source::{
    TaskMetadataError, TaskMetadataFuture, TaskMetadataRequest, TaskMetadataSource,
};
