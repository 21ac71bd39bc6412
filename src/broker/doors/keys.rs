//! The doors' secrets: the key that signs EKS Pod Identity tokens and the container token
//! ECS requests on loopback must carry.

use std::sync::Arc;

use super::pod_token::{self, PodTokenKey};
use crate::config::ConfigStore;

/// The secrets of the doors, shared by all requests.
#[derive(Debug, Clone)]
pub struct DoorKeys {
    /// Signs and verifies EKS Pod Identity tokens.
    pub pod_tokens: Arc<PodTokenKey>,
    /// The `Authorization` value ECS requests on loopback must carry (`serve` makes one
    /// per run). Without one, loopback refuses ECS requests: a local process must not get
    /// credentials without it.
    pub container_token: Option<String>,
}

impl DoorKeys {
    /// The pod token key beside the store's configuration file (made on first use), or a
    /// key of this process for a store without a file or when the file cannot be used.
    pub fn for_store(store: &ConfigStore) -> DoorKeys {
        let pod_tokens = match store.path() {
            Some(path) => {
                let dir = pod_token::key_dir(Some(path));
                PodTokenKey::load_or_create(&dir).unwrap_or_else(|err| {
                    tracing::warn!(
                        "EKS Pod Identity tokens are checked with a throwaway key this run: {err}"
                    );
                    PodTokenKey::generate()
                })
            }
            None => PodTokenKey::generate(),
        };
        DoorKeys {
            pod_tokens: Arc::new(pod_tokens),
            container_token: None,
        }
    }
}

/// A fresh random token for ECS requests on loopback (URL-safe, no padding).
pub fn new_container_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
