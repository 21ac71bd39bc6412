//! Where a key and its certificate live on disk, and how they are created there.

use std::path::{Path, PathBuf};

use der::{DecodePem, EncodePem};
use rsa::pkcs8::LineEnding;
use x509_cert::Certificate;

use super::error::SigningError;
use super::keys::{certificate_matches_key, Certified, IdentityKey};

/// The file names of one key and its certificate inside the configuration directory.
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyFiles {
    pub(super) key: &'static str,
    pub(super) certificate: &'static str,
}

/// Loads the key and certificate named by `files` from `dir`, creating what is missing
/// (key file mode 0600, written atomically: temp file + rename; the directory is created
/// if needed).
///
/// A missing certificate is re-issued for the existing key; a missing key means a new key
/// *and* a new certificate. A certificate that does not match the key is an error rather
/// than silently replaced, since users may have copied it elsewhere.
pub(super) fn load_or_create<K: IdentityKey>(
    dir: &Path,
    files: KeyFiles,
) -> Result<Certified<K>, SigningError> {
    let key_path = dir.join(files.key);
    let cert_path = dir.join(files.certificate);
    let (key, key_is_new) = match read_optional(&key_path)? {
        Some(pem) => (parse_key::<K>(&key_path, &pem)?, false),
        None => (create_key_file::<K>(dir, &key_path)?, true),
    };
    let existing_cert = match key_is_new {
        // A certificate left over from a previous key is stale by definition.
        true => None,
        false => read_optional(&cert_path)?,
    };
    let certificate = match existing_cert {
        Some(pem) => parse_certificate(&cert_path, &pem)?,
        None => create_certificate_file(&key, &cert_path)?,
    };
    if !certificate_matches_key(&certificate, &key)? {
        return Err(SigningError::KeyMismatch {
            key_path,
            cert_path,
        });
    }
    Certified::new(key, certificate)
}

fn parse_key<K: IdentityKey>(path: &Path, pem: &str) -> Result<K, SigningError> {
    K::from_pem(pem).map_err(|source| SigningError::InvalidKey {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_certificate(path: &Path, pem: &str) -> Result<Certificate, SigningError> {
    Certificate::from_pem(pem).map_err(|source| SigningError::InvalidCertificate {
        path: path.to_path_buf(),
        source,
    })
}

fn create_key_file<K: IdentityKey>(dir: &Path, key_path: &Path) -> Result<K, SigningError> {
    std::fs::create_dir_all(dir).map_err(|source| io_error("create directory", dir, source))?;
    let key = K::generate()?;
    // `Zeroizing` wipes the PEM copy of the key from memory when dropped.
    let pem = key.to_pem()?;
    write_atomically(key_path, pem.as_bytes(), 0o600)?;
    Ok(key)
}

fn create_certificate_file<K: IdentityKey>(
    key: &K,
    cert_path: &Path,
) -> Result<Certificate, SigningError> {
    let certificate = key.self_signed_certificate()?;
    let pem = certificate.to_pem(LineEnding::LF)?;
    // World-readable on purpose: the certificate is public and meant to be shared.
    write_atomically(cert_path, pem.as_bytes(), 0o644)?;
    Ok(certificate)
}

/// Reads a UTF-8 file, mapping "does not exist" to `None`.
fn read_optional(path: &Path) -> Result<Option<String>, SigningError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(io_error("read", path, source)),
    }
}

/// Never leaves a truncated key behind, and the key is never readable by others, not
/// even briefly (the configuration's one atomic writer).
fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), SigningError> {
    crate::config::write_file_atomically(path, contents, mode)
        .map_err(|source| io_error("write", path, source))
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> SigningError {
    SigningError::Io {
        action,
        path: PathBuf::from(path),
        source,
    }
}
