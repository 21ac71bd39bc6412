//! Errors from creating, loading or using the identity signing keys.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid private key in {}: {source}", path.display())]
    InvalidKey {
        path: PathBuf,
        #[source]
        source: rsa::pkcs8::Error,
    },
    #[error("invalid certificate in {}: {source}", path.display())]
    InvalidCertificate {
        path: PathBuf,
        #[source]
        source: der::Error,
    },
    #[error(
        "certificate {} does not belong to the key {}; delete the certificate to have it recreated",
        cert_path.display(),
        key_path.display()
    )]
    KeyMismatch {
        key_path: PathBuf,
        cert_path: PathBuf,
    },
    #[error("cannot generate RSA key: {0}")]
    KeyGeneration(#[source] rsa::Error),
    #[error("cannot encode private key: {0}")]
    KeyEncoding(#[source] rsa::pkcs8::Error),
    #[error("cannot build certificate: {0}")]
    Certificate(#[source] x509_cert::builder::Error),
    // No `#[source]`: `cms::builder::Error` does not implement `std::error::Error`.
    #[error("cannot build PKCS#7 signature: {0}")]
    Cms(cms::builder::Error),
    #[error("DER encoding failed: {0}")]
    Der(#[source] der::Error),
}

impl From<der::Error> for SigningError {
    fn from(source: der::Error) -> Self {
        SigningError::Der(source)
    }
}

impl From<cms::builder::Error> for SigningError {
    fn from(source: cms::builder::Error) -> Self {
        SigningError::Cms(source)
    }
}
