//! The IMDS model: identities' path trees, documents and timestamps, as plain data.

pub mod documents;
pub mod ids;
pub mod signing;
pub mod task_metadata;
pub mod tree;

/// Timestamps live with the configuration (its lowest user); the model serves them too.
pub use crate::config::time;
