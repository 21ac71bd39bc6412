//! The provider contract: what the broker asks (a [`ProviderRequest`]), what a provider
//! answers, and how it fails. Every provider in this folder implements [`Provider`].

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A request as the provider sees it: always a read, the path as the caller sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProviderRequest {
    pub method: String,
    pub path: String,
    pub identity: String,
    pub caller_ip: Option<IpAddr>,
    pub caller_container: Option<String>,
}

/// What a provider answers. An empty 404 body gets EC2's HTML 404 page from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl ProviderAnswer {
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn not_found() -> Self {
        Self {
            status: 404,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProviderError {
    #[error("identity {0:?} is not configured")]
    UnknownIdentity(String),
    #[error("credentials from {source_name}: {reason}")]
    Credentials { source_name: String, reason: String },
    #[error("provider program {program}: {reason}")]
    External { program: String, reason: String },
    #[error("no provider: {0}")]
    Unavailable(String),
    #[error("{what} did not finish within {timeout_ms} ms")]
    Timeout { what: String, timeout_ms: u64 },
}

pub type ProviderFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ProviderAnswer, ProviderError>> + Send + 'a>>;

/// The broker's source of data.
pub trait Provider: Send + Sync {
    fn answer<'a>(&'a self, request: &'a ProviderRequest) -> ProviderFuture<'a>;
}
