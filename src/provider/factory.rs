//! The one place a provider is built from the configuration, for `serve` and the session
//! alike. A provider that cannot be built becomes [`UnavailableProvider`], which answers
//! EC2's 500 with the reason recorded, instead of failing the whole run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{
    BuiltinProvider, ExternalProvider, Provider, ProviderError, ProviderFuture, ProviderRequest,
};
use crate::config::ConfigStore;
use crate::imds::signing::{IdentitySigner, SigningError, PUBLISHED_CERTIFICATES};

/// What the configuration asked for, as built.
pub struct BuiltProvider {
    pub provider: Arc<dyn Provider>,
    /// The built-in provider's own handle ("rotate" forgets its cached credentials).
    pub builtin: Option<Arc<BuiltinProvider>>,
    /// What went wrong on the way, for the user to see (the run goes on without it).
    pub warnings: Vec<String>,
}

/// The identity-document signing keys, kept beside the configuration file.
pub fn open_signer(store: &ConfigStore) -> Result<Arc<IdentitySigner>, SigningError> {
    Ok(Arc::new(IdentitySigner::load_or_create(&signing_dir(
        store,
    ))?))
}

/// Where the signing keys and the certificates users verify against live: the
/// configuration file's directory.
pub fn signing_dir(store: &ConfigStore) -> PathBuf {
    store
        .path()
        .and_then(|path| path.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// "DIR/identity-cert.pem (signature, rsa2048), DIR/identity-dsa-cert.pem (pkcs7)": the
/// certificates and what each verifies, for `serve` and `doctor` to tell users.
pub fn describe_certificates(dir: &Path) -> String {
    PUBLISHED_CERTIFICATES
        .iter()
        .map(|published| {
            format!(
                "{} ({})",
                dir.join(published.file_name).display(),
                published.verifies
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The provider the configuration asks for: an external program, or the built-in one.
pub fn build_provider(store: &ConfigStore) -> BuiltProvider {
    let settings = store.current().provider.clone();
    if !settings.command.is_empty() {
        let external = ExternalProvider::new(
            settings.command,
            Duration::from_millis(settings.timeout_ms),
            Duration::from_millis(settings.cache_ms),
        );
        return BuiltProvider {
            provider: Arc::new(external),
            builtin: None,
            warnings: Vec::new(),
        };
    }
    let mut warnings = Vec::new();
    let signer = match open_signer(store) {
        Ok(signer) => signer,
        Err(err) => {
            warnings.push(format!(
                "identity documents are signed with a throwaway key this run: {err}"
            ));
            match IdentitySigner::generate() {
                Ok(signer) => Arc::new(signer),
                Err(err) => {
                    let reason = format!("no key to sign identity documents with: {err}");
                    warnings.push(reason.clone());
                    return BuiltProvider {
                        provider: Arc::new(UnavailableProvider { reason }),
                        builtin: None,
                        warnings,
                    };
                }
            }
        }
    };
    let builtin = Arc::new(BuiltinProvider::new(store.clone(), signer));
    BuiltProvider {
        provider: builtin.clone(),
        builtin: Some(builtin),
        warnings,
    }
}

/// Answers every request with an error carrying why no real provider exists; the broker
/// turns it into EC2's 500 and records the reason with the exchange.
pub struct UnavailableProvider {
    pub reason: String,
}

impl Provider for UnavailableProvider {
    fn answer<'a>(&'a self, _request: &'a ProviderRequest) -> ProviderFuture<'a> {
        let err = ProviderError::Unavailable(self.reason.clone());
        Box::pin(async move { Err(err) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unavailable_provider_says_why() {
        let provider = UnavailableProvider {
            reason: "no key".to_string(),
        };
        let request = ProviderRequest {
            method: "GET".into(),
            path: "/latest/meta-data/instance-id".into(),
            identity: "default".into(),
            caller_ip: None,
            caller_container: None,
        };
        let err = provider.answer(&request).await.unwrap_err();
        assert_eq!(err.to_string(), "no provider: no key");
    }

    #[test]
    fn certificates_are_described_with_what_they_verify() {
        assert_eq!(
            describe_certificates(Path::new("/cfg")),
            "/cfg/identity-cert.pem (signature, rsa2048), /cfg/identity-dsa-cert.pem (pkcs7)"
        );
    }
}
