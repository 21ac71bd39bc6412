//! The IMDS model: identities' path trees, documents and timestamps, as plain data.

pub mod documents;
pub mod signing;
pub mod time;
pub mod tree;
