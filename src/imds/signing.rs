//! Signing of the instance identity document.
//!
//! Real EC2 serves `/latest/dynamic/instance-identity/{document,signature,pkcs7,rsa2048}`,
//! signed with AWS's regional keys. We cannot sign as AWS, so each installation gets its own
//! RSA-2048 key plus a self-signed certificate, stored beside the user's config file; users
//! (and tools that take a custom certificate) verify against that certificate instead of
//! AWS's. The formats are EC2's:
//!
//! * `signature`: base64 of a PKCS#1 v1.5 RSA signature over the document bytes, one line.
//!   EC2 historically used SHA-1 here; we always use SHA-256, since SHA-1 signatures are
//!   rejected by some crypto policies. Verify with `openssl dgst -sha256`.
//! * `pkcs7` / `rsa2048`: base64 DER of a detached CMS/PKCS#7 `SignedData`, broken into
//!   64-character lines without PEM armour and without embedded certificates, verifiable with
//!   `openssl smime -verify -inform PEM -content document -certfile cert -noverify`.
//!   On EC2 the two differ in the AWS key that signs (DSA vs. RSA-2048); here one RSA-2048
//!   key with SHA-256 signs both.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use base64::Engine;
use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::IssuerAndSerialNumber;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{GeneralizedTime, SetOfVec, UtcTime};
use der::oid::db::rfc5911::{ID_DATA, ID_SIGNING_TIME};
use der::{DateTime, Decode, DecodePem, Encode, EncodePem};
use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::rand_core::{OsRng, RngCore};
use rsa::signature::{Keypair, SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use sha2::digest::const_oid::AssociatedOid;
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::{Attribute, AttributeValue};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

/// File name of the PKCS#8 PEM private key inside the config directory.
pub const KEY_FILE_NAME: &str = "identity-key.pem";
/// File name of the self-signed PEM certificate inside the config directory.
pub const CERT_FILE_NAME: &str = "identity-cert.pem";

/// Same size as the key behind EC2's `rsa2048` endpoint.
const KEY_BITS: usize = 2048;
const CERT_SUBJECT: &str = "CN=imds-spoof local instance identity,O=imds-spoof";
/// About ten years: long enough that nobody has to think about renewal.
const CERT_LIFETIME: Duration = Duration::from_secs(3650 * 24 * 60 * 60);
/// Backdating `notBefore` tolerates small clock differences between host and verifier.
const CERT_BACKDATE: Duration = Duration::from_secs(60 * 60);
/// AWS wraps the base64 of `pkcs7` and `rsa2048` at 64 columns, like PEM.
const BASE64_LINE_WIDTH: usize = 64;

/// Errors from creating, loading or using the identity signing key.
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

/// The installation's identity key and its self-signed certificate.
#[derive(Clone)]
pub struct IdentitySigner {
    signing_key: SigningKey<Sha256>,
    certificate: Certificate,
    certificate_pem: String,
}

impl std::fmt::Debug for IdentitySigner {
    // Hand-written so the private key can never end up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySigner")
            .field(
                "subject",
                &self.certificate.tbs_certificate.subject.to_string(),
            )
            .field(
                "serial",
                &self.certificate.tbs_certificate.serial_number.to_string(),
            )
            .finish_non_exhaustive()
    }
}

impl IdentitySigner {
    /// Loads `identity-key.pem` (PKCS#8 PEM private key) and `identity-cert.pem` from `dir`,
    /// creating both when missing (key file written mode 0600 atomically: temp file + rename;
    /// the directory is created if needed).
    ///
    /// A missing certificate is re-issued for the existing key; a missing key means a new
    /// key *and* a new certificate. A certificate that does not match the key is an error
    /// rather than silently replaced, since users may have copied it elsewhere.
    pub fn load_or_create(dir: &Path) -> Result<Self, SigningError> {
        let key_path = dir.join(KEY_FILE_NAME);
        let cert_path = dir.join(CERT_FILE_NAME);
        let (signing_key, key_is_new) = match read_optional(&key_path)? {
            Some(pem) => (parse_key(&key_path, &pem)?, false),
            None => (create_key_file(dir, &key_path)?, true),
        };
        let existing_cert = match key_is_new {
            // A certificate left over from a previous key is stale by definition.
            true => None,
            false => read_optional(&cert_path)?,
        };
        let certificate = match existing_cert {
            Some(pem) => parse_certificate(&cert_path, &pem)?,
            None => create_certificate_file(&signing_key, &cert_path)?,
        };
        if !certificate_matches_key(&certificate, &signing_key)? {
            return Err(SigningError::KeyMismatch {
                key_path,
                cert_path,
            });
        }
        Self::from_parts(signing_key, certificate)
    }

    /// Generates a key and certificate in memory only (tests).
    pub fn generate() -> Result<Self, SigningError> {
        let signing_key = generate_key()?;
        let certificate = build_certificate(&signing_key)?;
        Self::from_parts(signing_key, certificate)
    }

    fn from_parts(
        signing_key: SigningKey<Sha256>,
        certificate: Certificate,
    ) -> Result<Self, SigningError> {
        let certificate_pem = certificate.to_pem(LineEnding::LF)?;
        Ok(Self {
            signing_key,
            certificate,
            certificate_pem,
        })
    }

    /// The self-signed certificate users verify against, PEM-encoded.
    pub fn certificate_pem(&self) -> String {
        self.certificate_pem.clone()
    }

    /// The `signature` endpoint: base64 (one line) of an RSA PKCS#1 v1.5 SHA-256 signature
    /// over exactly `document`.
    pub fn signature(&self, document: &[u8]) -> String {
        let signature: Signature = self.signing_key.sign(document);
        base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
    }

    /// The `pkcs7` endpoint: base64 DER of a detached CMS `SignedData` over `document`,
    /// in 64-character lines, no trailing newline, with the current time as signing time
    /// (so two calls give different blobs; see [`Self::pkcs7_at`] for a stable one).
    ///
    /// # Panics
    ///
    /// Only if CMS encoding fails, which cannot happen for a valid in-memory key: the content
    /// is detached, so only a fixed-size digest and attributes are encoded. Use
    /// [`Self::try_pkcs7`] to get the error instead.
    pub fn pkcs7(&self, document: &[u8]) -> String {
        self.pkcs7_at(document, SystemTime::now())
    }

    /// [`Self::pkcs7`] with a given signing-time attribute. EC2 signs the document once at
    /// launch and then serves the same blob; passing a fixed time (e.g. the document's
    /// `pendingTime`) reproduces that, since PKCS#1 v1.5 signatures are deterministic.
    ///
    /// # Panics
    ///
    /// Under the same (impossible in practice) conditions as [`Self::pkcs7`].
    // Not an input path: the only failure is an encoder bug, documented above.
    #[allow(clippy::expect_used)]
    pub fn pkcs7_at(&self, document: &[u8], signing_time: SystemTime) -> String {
        self.try_pkcs7(document, signing_time)
            .expect("CMS signing with a valid RSA key and detached content cannot fail")
    }

    /// The `rsa2048` endpoint. On EC2 it differs from `pkcs7` only in which AWS key signs
    /// (RSA-2048 instead of DSA); our single key is already RSA-2048, so both endpoints
    /// produce the same kind of blob.
    ///
    /// # Panics
    ///
    /// Under the same (impossible in practice) conditions as [`Self::pkcs7`].
    pub fn rsa2048(&self, document: &[u8]) -> String {
        self.pkcs7(document)
    }

    /// Fallible form of [`Self::pkcs7_at`].
    pub fn try_pkcs7(
        &self,
        document: &[u8],
        signing_time: SystemTime,
    ) -> Result<String, SigningError> {
        let der = self.signed_data_der(document, signing_time)?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(der);
        Ok(wrap_lines(&encoded, BASE64_LINE_WIDTH))
    }

    /// Builds the DER `ContentInfo` holding a `SignedData` whose content is detached: the
    /// signed attributes carry the document's SHA-256 digest, the document itself is omitted,
    /// as on EC2.
    fn signed_data_der(
        &self,
        document: &[u8],
        signing_time: SystemTime,
    ) -> Result<Vec<u8>, SigningError> {
        let digest = Sha256::digest(document);
        let content = EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        };
        let digest_algorithm = AlgorithmIdentifierOwned {
            oid: Sha256::OID,
            parameters: None,
        };
        let mut signer_info = SignerInfoBuilder::new(
            &self.signing_key,
            self.signer_identifier(),
            digest_algorithm.clone(),
            &content,
            Some(digest.as_slice()),
        )?;
        // The builder adds content-type and message-digest itself; EC2 also sends
        // signing-time, so we do too.
        signer_info.add_signed_attribute(signing_time_attribute(signing_time)?)?;
        // Like EC2, no certificate is embedded: verifiers must supply the one they trust
        // (`-certfile`). Embedding it would make AWS's documented `-noverify` command accept
        // a blob signed by any key that carries its own certificate.
        let content_info = SignedDataBuilder::new(&content)
            .add_digest_algorithm(digest_algorithm)?
            .add_signer_info::<_, Signature>(signer_info)?
            .build()?;
        Ok(content_info.to_der()?)
    }

    /// Identifies our certificate by issuer and serial number, as EC2's signatures do.
    fn signer_identifier(&self) -> SignerIdentifier {
        let tbs = &self.certificate.tbs_certificate;
        SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        })
    }
}

/// The CMS signing-time attribute for `time`. `cms` has a helper, but only for "now".
fn signing_time_attribute(time: SystemTime) -> Result<Attribute, SigningError> {
    let time = DateTime::from_system_time(time)?;
    // RFC 5652 section 11.3: UTCTime through 2049, GeneralizedTime from 2050 on.
    let encoded = if time.year() <= UtcTime::MAX_YEAR {
        UtcTime::from_date_time(time)?.to_der()?
    } else {
        GeneralizedTime::from_date_time(time).to_der()?
    };
    let values = SetOfVec::try_from(vec![AttributeValue::from_der(&encoded)?])?;
    Ok(Attribute {
        oid: ID_SIGNING_TIME,
        values,
    })
}

fn generate_key() -> Result<SigningKey<Sha256>, SigningError> {
    let private_key =
        RsaPrivateKey::new(&mut OsRng, KEY_BITS).map_err(SigningError::KeyGeneration)?;
    Ok(SigningKey::new(private_key))
}

/// Self-signed end-entity certificate: a leaf profile (digitalSignature key usage, not a CA)
/// because the key signs documents, never other certificates.
fn build_certificate(signing_key: &SigningKey<Sha256>) -> Result<Certificate, SigningError> {
    let subject = Name::from_str(CERT_SUBJECT)?;
    let public_key = SubjectPublicKeyInfoOwned::from_key(signing_key.verifying_key())
        .map_err(|source| SigningError::Certificate(source.into()))?;
    let profile = Profile::Leaf {
        issuer: subject.clone(),
        enable_key_agreement: false,
        enable_key_encipherment: false,
    };
    let builder = CertificateBuilder::new(
        profile,
        random_serial_number()?,
        validity()?,
        subject,
        public_key,
        signing_key,
    )
    .map_err(SigningError::Certificate)?;
    builder
        .build::<Signature>()
        .map_err(SigningError::Certificate)
}

/// 16 random bytes: unique without coordination, well under RFC 5280's 20-octet limit.
fn random_serial_number() -> Result<SerialNumber, SigningError> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    // Clear the sign bit (serials must be positive) and set the next one so the serial
    // is never zero and always encodes to the same length.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::new(&bytes)?)
}

fn validity() -> Result<Validity, SigningError> {
    let now = SystemTime::now();
    let not_before = now.checked_sub(CERT_BACKDATE).unwrap_or(now);
    Ok(Validity {
        not_before: Time::try_from(not_before)?,
        not_after: Time::try_from(now + CERT_LIFETIME)?,
    })
}

/// Compares the certificate's public key with the private key's, by DER encoding.
fn certificate_matches_key(
    certificate: &Certificate,
    signing_key: &SigningKey<Sha256>,
) -> Result<bool, SigningError> {
    let expected = SubjectPublicKeyInfoOwned::from_key(signing_key.verifying_key())
        .map_err(|source| SigningError::Certificate(source.into()))?;
    let actual = &certificate.tbs_certificate.subject_public_key_info;
    Ok(expected.to_der()? == actual.to_der()?)
}

fn parse_key(path: &Path, pem: &str) -> Result<SigningKey<Sha256>, SigningError> {
    let private_key =
        RsaPrivateKey::from_pkcs8_pem(pem).map_err(|source| SigningError::InvalidKey {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(SigningKey::new(private_key))
}

fn parse_certificate(path: &Path, pem: &str) -> Result<Certificate, SigningError> {
    Certificate::from_pem(pem).map_err(|source| SigningError::InvalidCertificate {
        path: path.to_path_buf(),
        source,
    })
}

fn create_key_file(dir: &Path, key_path: &Path) -> Result<SigningKey<Sha256>, SigningError> {
    std::fs::create_dir_all(dir).map_err(|source| io_error("create directory", dir, source))?;
    let signing_key = generate_key()?;
    // `Zeroizing` wipes the PEM copy of the key from memory when dropped.
    let pem = signing_key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(SigningError::KeyEncoding)?;
    write_atomically(key_path, pem.as_bytes(), 0o600)?;
    Ok(signing_key)
}

fn create_certificate_file(
    signing_key: &SigningKey<Sha256>,
    cert_path: &Path,
) -> Result<Certificate, SigningError> {
    let certificate = build_certificate(signing_key)?;
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
        path: path.to_path_buf(),
        source,
    }
}

/// Breaks an ASCII string into lines of `width` characters, without a trailing newline.
fn wrap_lines(text: &str, width: usize) -> String {
    let mut wrapped = String::with_capacity(text.len() + text.len() / width);
    for (index, character) in text.chars().enumerate() {
        if index > 0 && index % width == 0 {
            wrapped.push('\n');
        }
        wrapped.push(character);
    }
    wrapped
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::referenced::OwnedToRef;
    use rsa::pkcs1v15::VerifyingKey;
    use rsa::signature::Verifier;
    use rsa::RsaPublicKey;
    use std::process::{Command, Output};

    /// Shaped like EC2's document: pretty-printed JSON with LF line endings.
    const DOCUMENT: &[u8] = b"{\n  \"accountId\" : \"123456789012\",\n  \"architecture\" : \"x86_64\",\n  \"availabilityZone\" : \"us-east-1a\",\n  \"imageId\" : \"ami-0abcdef1234567890\",\n  \"instanceId\" : \"i-1234567890abcdef0\",\n  \"instanceType\" : \"t3.micro\",\n  \"pendingTime\" : \"2024-01-01T00:00:00Z\",\n  \"privateIp\" : \"10.0.0.10\",\n  \"region\" : \"us-east-1\",\n  \"version\" : \"2017-09-30\"\n}";

    fn decode_base64(text: &str) -> Vec<u8> {
        let joined: String = text.lines().collect();
        base64::engine::general_purpose::STANDARD
            .decode(joined)
            .expect("valid base64")
    }

    #[test]
    fn signature_verifies_with_certificate_public_key() {
        let signer = IdentitySigner::generate().expect("generate");
        let signature_text = signer.signature(DOCUMENT);
        assert!(!signature_text.contains('\n'));

        // Verify through the certificate, which is what users get, not the in-memory key.
        let certificate = Certificate::from_pem(signer.certificate_pem()).expect("parse cert");
        let public_key = RsaPublicKey::try_from(
            certificate
                .tbs_certificate
                .subject_public_key_info
                .owned_to_ref(),
        )
        .expect("RSA public key");
        let verifier = VerifyingKey::<Sha256>::new(public_key);
        let signature =
            Signature::try_from(decode_base64(&signature_text).as_slice()).expect("signature");
        verifier
            .verify(DOCUMENT, &signature)
            .expect("valid signature");
        assert!(verifier.verify(b"tampered", &signature).is_err());
    }

    #[test]
    fn certificate_has_expected_subject_and_lifetime() {
        let signer = IdentitySigner::generate().expect("generate");
        let tbs = &signer.certificate.tbs_certificate;
        assert_eq!(tbs.subject, tbs.issuer, "self-signed");
        assert!(tbs
            .subject
            .to_string()
            .contains("CN=imds-spoof local instance identity"));
        let not_before = tbs.validity.not_before.to_system_time();
        let not_after = tbs.validity.not_after.to_system_time();
        let lifetime = not_after.duration_since(not_before).expect("ordered");
        assert!(lifetime > Duration::from_secs(9 * 365 * 24 * 60 * 60));
    }

    #[test]
    fn pkcs7_is_wrapped_like_aws() {
        let signer = IdentitySigner::generate().expect("generate");
        let pkcs7 = signer.pkcs7(DOCUMENT);
        assert!(!pkcs7.ends_with('\n'));
        assert!(!pkcs7.contains("-----"));
        let lines: Vec<&str> = pkcs7.lines().collect();
        assert!(lines.len() > 1);
        let (last, full) = lines.split_last().expect("lines");
        assert!(full.iter().all(|line| line.len() == BASE64_LINE_WIDTH));
        assert!(!last.is_empty() && last.len() <= BASE64_LINE_WIDTH);
        // Detached: the document must not be embedded in the DER.
        let der = decode_base64(&pkcs7);
        assert!(!der.windows(DOCUMENT.len()).any(|window| window == DOCUMENT));
        assert!(!signer.rsa2048(DOCUMENT).is_empty());
    }

    #[test]
    fn pkcs7_at_a_fixed_time_is_stable() {
        let signer = IdentitySigner::generate().expect("generate");
        let launch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        let first = signer.pkcs7_at(DOCUMENT, launch);
        assert_eq!(first, signer.pkcs7_at(DOCUMENT, launch));
        let later = launch + Duration::from_secs(1);
        assert_ne!(first, signer.pkcs7_at(DOCUMENT, later));
        // Past 2049 the attribute switches to GeneralizedTime; it must still encode.
        let far_future = SystemTime::UNIX_EPOCH + Duration::from_secs(2_600_000_000);
        assert!(signer.try_pkcs7(DOCUMENT, far_future).is_ok());
    }

    #[test]
    fn wrap_lines_breaks_at_width() {
        assert_eq!(wrap_lines("abcdefg", 3), "abc\ndef\ng");
        assert_eq!(wrap_lines("abcdef", 3), "abc\ndef");
        assert_eq!(wrap_lines("", 3), "");
    }

    #[cfg(unix)]
    #[test]
    fn load_or_create_persists_and_protects_key() {
        use std::os::unix::fs::PermissionsExt;
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("nested").join("imds-spoof");

        let first = IdentitySigner::load_or_create(&dir).expect("create");
        let second = IdentitySigner::load_or_create(&dir).expect("load");
        assert_eq!(first.certificate_pem(), second.certificate_pem());
        // Same key, not merely the same certificate file.
        assert_eq!(first.signature(DOCUMENT), second.signature(DOCUMENT));

        let key_mode = std::fs::metadata(dir.join(KEY_FILE_NAME))
            .expect("key metadata")
            .permissions()
            .mode();
        assert_eq!(key_mode & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .expect("read dir")
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }

    #[test]
    fn missing_certificate_is_reissued_for_existing_key() {
        let temp = tempfile::tempdir().expect("tempdir");
        let first = IdentitySigner::load_or_create(temp.path()).expect("create");
        std::fs::remove_file(temp.path().join(CERT_FILE_NAME)).expect("remove cert");
        let second = IdentitySigner::load_or_create(temp.path()).expect("reissue");
        assert_ne!(first.certificate_pem(), second.certificate_pem());
        assert_eq!(first.signature(DOCUMENT), second.signature(DOCUMENT));
    }

    #[test]
    fn mismatched_certificate_is_an_error() {
        let temp = tempfile::tempdir().expect("tempdir");
        IdentitySigner::load_or_create(temp.path()).expect("create");
        let other = IdentitySigner::generate().expect("generate");
        std::fs::write(temp.path().join(CERT_FILE_NAME), other.certificate_pem())
            .expect("overwrite cert");
        let error = IdentitySigner::load_or_create(temp.path()).expect_err("mismatch");
        assert!(matches!(error, SigningError::KeyMismatch { .. }), "{error}");
    }

    #[test]
    fn unreadable_key_error_names_the_path() {
        let temp = tempfile::tempdir().expect("tempdir");
        let key_path = temp.path().join(KEY_FILE_NAME);
        std::fs::write(&key_path, "not a key").expect("write");
        let error = IdentitySigner::load_or_create(temp.path()).expect_err("invalid key");
        assert!(
            error.to_string().contains(&key_path.display().to_string()),
            "{error}"
        );
    }

    /// Runs openssl, or returns `None` when it is not installed so the test can skip.
    fn openssl(args: &[&str], dir: &Path) -> Option<Output> {
        match Command::new("openssl").args(args).current_dir(dir).output() {
            Ok(output) => Some(output),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => panic!("cannot run openssl: {error}"),
        }
    }

    fn assert_success(output: &Output, what: &str) {
        assert!(
            output.status.success(),
            "{what} failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Writes what a user would download from IMDS and the config directory.
    fn write_verification_files(signer: &IdentitySigner, dir: &Path) {
        std::fs::write(dir.join("document"), DOCUMENT).expect("write document");
        std::fs::write(dir.join("cert.pem"), signer.certificate_pem()).expect("write cert");
        std::fs::write(
            dir.join("sig.bin"),
            decode_base64(&signer.signature(DOCUMENT)),
        )
        .expect("write signature");
        for (name, body) in [
            ("p7.pem", signer.pkcs7(DOCUMENT)),
            ("rsa2048.pem", signer.rsa2048(DOCUMENT)),
        ] {
            // The same wrapping the AWS documentation tells users to add.
            let pem = format!("-----BEGIN PKCS7-----\n{body}\n-----END PKCS7-----\n");
            std::fs::write(dir.join(name), pem).expect("write pkcs7");
        }
        std::fs::write(dir.join("tampered"), [DOCUMENT, b" "].concat()).expect("write tampered");
        let foreign = IdentitySigner::generate().expect("generate foreign");
        std::fs::write(dir.join("foreign-cert.pem"), foreign.certificate_pem())
            .expect("write foreign cert");
    }

    /// `openssl VERB -verify` of the PEM blob `p7` over the file "document" with the
    /// certificate `cert`, then `trust` (`-noverify`, or a trust anchor).
    fn verify_args<'a>(
        verb: &'a str,
        p7: &'a str,
        cert: &'a str,
        trust: &[&'a str],
    ) -> Vec<&'a str> {
        let mut args = vec![verb, "-verify"];
        if verb == "cms" {
            args.push("-binary");
        }
        args.extend([
            "-in",
            p7,
            "-inform",
            "PEM",
            "-content",
            "document",
            "-certfile",
            cert,
        ]);
        args.extend(trust);
        args
    }

    /// `smime -verify` as AWS documents it, against the certificate `cert`.
    fn smime_strict(dir: &Path, p7: &str, cert: &str) -> bool {
        let args = verify_args("smime", p7, cert, &["-noverify"]);
        openssl(&args, dir).expect("openssl").status.success()
    }

    #[test]
    fn openssl_verifies_signature_and_pkcs7() {
        let signer = IdentitySigner::generate().expect("generate");
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path();
        write_verification_files(&signer, dir);

        let Some(pubkey) = openssl(&["x509", "-pubkey", "-noout", "-in", "cert.pem"], dir) else {
            eprintln!("skipping: openssl is not on PATH");
            return;
        };
        assert_success(&pubkey, "openssl x509 -pubkey");
        std::fs::write(dir.join("pubkey.pem"), &pubkey.stdout).expect("write pubkey");

        let dgst = |document: &str| {
            let args = [
                "dgst",
                "-sha256",
                "-verify",
                "pubkey.pem",
                "-signature",
                "sig.bin",
            ];
            openssl(&[&args[..], &[document]].concat(), dir).expect("openssl")
        };
        assert_success(&dgst("document"), "openssl dgst -verify");
        assert!(
            !dgst("tampered").status.success(),
            "tampered document verified"
        );

        for p7 in ["p7.pem", "rsa2048.pem"] {
            // Exactly the command from the AWS documentation.
            let smime = |document: &str| {
                let args = ["smime", "-verify", "-in", p7, "-inform", "PEM", "-content"];
                let rest = ["-certfile", "cert.pem", "-noverify"];
                openssl(&[&args[..], &[document], &rest[..]].concat(), dir).expect("openssl")
            };
            let output = smime("document");
            assert_success(&output, "openssl smime -verify");
            assert_eq!(output.stdout, DOCUMENT, "smime prints the verified content");
            assert!(
                !smime("tampered").status.success(),
                "tampered document verified"
            );
            assert!(
                !smime_strict(dir, p7, "foreign-cert.pem"),
                "foreign certificate accepted"
            );

            let cms = verify_args("cms", p7, "cert.pem", &["-noverify"]);
            assert_success(&openssl(&cms, dir).expect("openssl"), "openssl cms -verify");

            // docs/verify-identity.md: full check with the certificate as trust anchor.
            let anchored = verify_args("smime", p7, "cert.pem", &["-CAfile", "cert.pem"]);
            let output = openssl(&anchored, dir).expect("openssl");
            assert_success(&output, "openssl smime -verify -CAfile");
        }
    }
}
