//! Signing of the instance identity document.
//!
//! Real EC2 serves `/latest/dynamic/instance-identity/{document,signature,pkcs7,rsa2048}`,
//! signed with AWS's regional keys. We cannot sign as AWS, so each installation gets its own
//! keys, each with a self-signed certificate, stored beside the user's config file; users
//! (and tools that take a custom certificate) verify against those certificates instead of
//! AWS's. The formats are EC2's (docs/protocol.md §5):
//!
//! * `signature`: base64 of a PKCS#1 v1.5 RSA signature over the SHA-256 of the document,
//!   one line. Verify with `openssl dgst -sha256`.
//! * `pkcs7`: PKCS#7 `SignedData`, SHA-1 with DSA, the document embedded.
//! * `rsa2048`: PKCS#7 `SignedData`, SHA-256 with RSA-2048, the document embedded.
//!
//! Two keys, two certificates. AWS publishes three certificates per region ("DSA", "RSA"
//! for `signature`, "RSA-2048"); here one RSA-2048 key signs both `signature` and
//! `rsa2048`, so its certificate plays AWS's "RSA" and "RSA-2048" parts. A second RSA key
//! would change nothing a verifier can observe but which file it reads.

mod dsa_key;
mod error;
mod files;
mod keys;
mod pkcs7;

use std::path::Path;
use std::time::SystemTime;

use base64::Engine;
use der::asn1::Null;
use der::oid::db::rfc5912::ID_SHA_1;
use der::Any;
use rsa::pkcs1v15::Signature;
use rsa::signature::{SignatureEncoding, Signer};
use sha1::Sha1;
use sha2::digest::const_oid::AssociatedOid;
use sha2::Sha256;
use spki::AlgorithmIdentifierOwned;

pub use error::SigningError;

use dsa_key::{DsaSignature, DsaWith};
use files::KeyFiles;
use keys::{Certified, DsaKey, RsaKey};

/// File name of the RSA private key (PKCS#8 PEM) inside the config directory.
pub const KEY_FILE_NAME: &str = "identity-key.pem";
/// File name of the RSA key's self-signed PEM certificate: verifies `signature` and
/// `rsa2048`.
pub const CERT_FILE_NAME: &str = "identity-cert.pem";
/// File name of the DSA private key (PKCS#8 PEM) inside the config directory.
pub const DSA_KEY_FILE_NAME: &str = "identity-dsa-key.pem";
/// File name of the DSA key's self-signed PEM certificate: verifies `pkcs7`.
pub const DSA_CERT_FILE_NAME: &str = "identity-dsa-cert.pem";

/// A certificate imds-spoof writes, and the endpoints it verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedCertificate {
    pub file_name: &'static str,
    pub verifies: &'static str,
}

/// Every certificate imds-spoof writes beside the configuration file.
pub const PUBLISHED_CERTIFICATES: [PublishedCertificate; 2] = [
    PublishedCertificate {
        file_name: CERT_FILE_NAME,
        verifies: "signature, rsa2048",
    },
    PublishedCertificate {
        file_name: DSA_CERT_FILE_NAME,
        verifies: "pkcs7",
    },
];

const RSA_FILES: KeyFiles = KeyFiles {
    key: KEY_FILE_NAME,
    certificate: CERT_FILE_NAME,
};
const DSA_FILES: KeyFiles = KeyFiles {
    key: DSA_KEY_FILE_NAME,
    certificate: DSA_CERT_FILE_NAME,
};

/// The installation's identity keys and their self-signed certificates.
#[derive(Clone)]
pub struct IdentitySigner {
    rsa: Certified<RsaKey>,
    dsa: Certified<DsaKey>,
}

impl std::fmt::Debug for IdentitySigner {
    // Hand-written so the private keys can never end up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let serial = |certificate: &x509_cert::Certificate| {
            certificate.tbs_certificate.serial_number.to_string()
        };
        f.debug_struct("IdentitySigner")
            .field("rsa_serial", &serial(&self.rsa.certificate))
            .field("dsa_serial", &serial(&self.dsa.certificate))
            .finish_non_exhaustive()
    }
}

impl IdentitySigner {
    /// Loads both keys and certificates from `dir` ([`PUBLISHED_CERTIFICATES`] and the key
    /// files beside them), creating whatever is missing: keys mode 0600, written atomically;
    /// a missing certificate re-issued for its key; a certificate of another key an error.
    /// An installation from before the DSA key keeps its RSA key and certificate and gains
    /// the DSA pair.
    ///
    /// Cost on first start (keys created): one RSA-2048 key generation; the DSA key takes
    /// milliseconds because it uses shared domain parameters (see `dsa_key`).
    pub fn load_or_create(dir: &Path) -> Result<Self, SigningError> {
        Ok(Self {
            rsa: files::load_or_create(dir, RSA_FILES)?,
            dsa: files::load_or_create(dir, DSA_FILES)?,
        })
    }

    /// Generates keys and certificates in memory only (tests).
    pub fn generate() -> Result<Self, SigningError> {
        Ok(Self {
            rsa: Certified::generate()?,
            dsa: Certified::generate()?,
        })
    }

    /// The RSA key's certificate, PEM: verifies `signature` and `rsa2048`.
    pub fn rsa_certificate_pem(&self) -> &str {
        &self.rsa.certificate_pem
    }

    /// The DSA key's certificate, PEM: verifies `pkcs7`.
    pub fn dsa_certificate_pem(&self) -> &str {
        &self.dsa.certificate_pem
    }

    /// The `signature` endpoint: base64 (one line) of an RSA PKCS#1 v1.5 SHA-256 signature
    /// over exactly `document`.
    pub fn signature(&self, document: &[u8]) -> String {
        let signature: Signature = self.rsa.key.sign(document);
        base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
    }

    /// The `pkcs7` endpoint: `SignedData` with `document` embedded, SHA-1 with DSA, and
    /// `signing_time` as the signing-time attribute.
    ///
    /// EC2 signs the document once at launch and then serves the same blob; a fixed
    /// `signing_time` reproduces that, since both signatures here are deterministic
    /// (PKCS#1 v1.5, and DSA with RFC 6979 nonces).
    pub fn pkcs7_at(
        &self,
        document: &[u8],
        signing_time: SystemTime,
    ) -> Result<String, SigningError> {
        // The SHA-1 identifier carries an explicit NULL, as in EC2's blobs.
        let sha1 = AlgorithmIdentifierOwned {
            oid: ID_SHA_1,
            parameters: Some(Any::from(Null)),
        };
        pkcs7::signed_data::<_, DsaSignature>(
            &DsaWith::<Sha1>::new(&self.dsa.key),
            self.dsa.signer_identifier(),
            sha1,
            document,
            signing_time,
        )
    }

    /// The `rsa2048` endpoint: `SignedData` with `document` embedded, SHA-256 with RSA-2048.
    pub fn rsa2048_at(
        &self,
        document: &[u8],
        signing_time: SystemTime,
    ) -> Result<String, SigningError> {
        let sha256 = AlgorithmIdentifierOwned {
            oid: Sha256::OID,
            parameters: None,
        };
        pkcs7::signed_data::<_, Signature>(
            &self.rsa.key,
            self.rsa.signer_identifier(),
            sha256,
            document,
            signing_time,
        )
    }
}

#[cfg(test)]
mod tests;
