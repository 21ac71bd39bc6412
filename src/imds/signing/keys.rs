//! The two kinds of identity key (RSA-2048 and DSA) behind one interface, and the
//! self-signed certificate each gets.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cms::cert::IssuerAndSerialNumber;
use cms::signed_data::SignerIdentifier;
use der::zeroize::Zeroizing;
use der::{Encode, EncodePem};
use dsa::signature::{Keypair, Signer};
use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::rand_core::{OsRng, RngCore};
use rsa::RsaPrivateKey;
use sha2::Sha256;
use spki::{
    DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding,
    SubjectPublicKeyInfoOwned,
};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

use super::dsa_key::{self, DsaSignature, DsaWith};
use super::error::SigningError;

/// The RSA key: `signature` and `rsa2048`.
pub(super) type RsaKey = SigningKey<Sha256>;
/// The DSA key: `pkcs7`.
pub(super) type DsaKey = dsa::SigningKey;

/// Same size as the key behind EC2's `rsa2048` endpoint.
const RSA_KEY_BITS: usize = 2048;
/// About ten years: long enough that nobody has to think about renewal.
const CERT_LIFETIME: Duration = Duration::from_secs(3650 * 24 * 60 * 60);
/// Backdating `notBefore` tolerates small clock differences between host and verifier.
const CERT_BACKDATE: Duration = Duration::from_secs(60 * 60);

/// What loading, creating and certifying a key needs, whatever its algorithm.
pub(super) trait IdentityKey: Sized {
    /// Subject (and issuer) of the key's self-signed certificate.
    const SUBJECT: &'static str;
    fn generate() -> Result<Self, SigningError>;
    fn from_pem(pem: &str) -> Result<Self, rsa::pkcs8::Error>;
    fn to_pem(&self) -> Result<Zeroizing<String>, SigningError>;
    fn public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned, SigningError>;
    fn self_signed_certificate(&self) -> Result<Certificate, SigningError>;
}

impl IdentityKey for RsaKey {
    // The subject from when this was the only key; existing certificates keep it.
    const SUBJECT: &'static str = "CN=imds-spoof local instance identity,O=imds-spoof";

    fn generate() -> Result<Self, SigningError> {
        let private_key =
            RsaPrivateKey::new(&mut OsRng, RSA_KEY_BITS).map_err(SigningError::KeyGeneration)?;
        Ok(SigningKey::new(private_key))
    }

    fn from_pem(pem: &str) -> Result<Self, rsa::pkcs8::Error> {
        Ok(SigningKey::new(RsaPrivateKey::from_pkcs8_pem(pem)?))
    }

    fn to_pem(&self) -> Result<Zeroizing<String>, SigningError> {
        self.to_pkcs8_pem(LineEnding::LF)
            .map_err(SigningError::KeyEncoding)
    }

    fn public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned, SigningError> {
        public_key_info(self)
    }

    fn self_signed_certificate(&self) -> Result<Certificate, SigningError> {
        self_signed::<_, Signature>(self, Self::SUBJECT)
    }
}

impl IdentityKey for DsaKey {
    const SUBJECT: &'static str = "CN=imds-spoof local instance identity DSA,O=imds-spoof";

    fn generate() -> Result<Self, SigningError> {
        dsa_key::generate_key()
    }

    fn from_pem(pem: &str) -> Result<Self, rsa::pkcs8::Error> {
        <Self as DecodePrivateKey>::from_pkcs8_pem(pem)
    }

    fn to_pem(&self) -> Result<Zeroizing<String>, SigningError> {
        self.to_pkcs8_pem(LineEnding::LF)
            .map_err(SigningError::KeyEncoding)
    }

    fn public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned, SigningError> {
        public_key_info(&DsaWith::<Sha256>::new(self))
    }

    fn self_signed_certificate(&self) -> Result<Certificate, SigningError> {
        self_signed::<_, DsaSignature>(&DsaWith::<Sha256>::new(self), Self::SUBJECT)
    }
}

/// A key with its certificate, and the certificate's PEM as published.
#[derive(Clone)]
pub(super) struct Certified<K> {
    pub(super) key: K,
    pub(super) certificate: Certificate,
    pub(super) certificate_pem: String,
}

impl<K: IdentityKey> Certified<K> {
    pub(super) fn new(key: K, certificate: Certificate) -> Result<Self, SigningError> {
        let certificate_pem = certificate.to_pem(LineEnding::LF)?;
        Ok(Self {
            key,
            certificate,
            certificate_pem,
        })
    }

    /// A new key and certificate, in memory only.
    pub(super) fn generate() -> Result<Self, SigningError> {
        let key = K::generate()?;
        let certificate = key.self_signed_certificate()?;
        Self::new(key, certificate)
    }

    /// Names our certificate by issuer and serial number, as EC2's signatures do.
    pub(super) fn signer_identifier(&self) -> SignerIdentifier {
        let tbs = &self.certificate.tbs_certificate;
        SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        })
    }
}

/// Compares the certificate's public key with the private key's, by DER encoding.
pub(super) fn certificate_matches_key<K: IdentityKey>(
    certificate: &Certificate,
    key: &K,
) -> Result<bool, SigningError> {
    let expected = key.public_key_info()?;
    let actual = &certificate.tbs_certificate.subject_public_key_info;
    Ok(expected.to_der()? == actual.to_der()?)
}

fn public_key_info<S>(signer: &S) -> Result<SubjectPublicKeyInfoOwned, SigningError>
where
    S: Keypair,
    S::VerifyingKey: EncodePublicKey,
{
    SubjectPublicKeyInfoOwned::from_key(signer.verifying_key())
        .map_err(|source| SigningError::Certificate(source.into()))
}

/// Self-signed end-entity certificate: a leaf profile (digitalSignature key usage, not a CA)
/// because the key signs documents, never other certificates.
fn self_signed<S, Sig>(signer: &S, subject: &str) -> Result<Certificate, SigningError>
where
    S: Keypair + DynSignatureAlgorithmIdentifier + Signer<Sig>,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    let subject = Name::from_str(subject)?;
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
        public_key_info(signer)?,
        signer,
    )
    .map_err(SigningError::Certificate)?;
    builder.build::<Sig>().map_err(SigningError::Certificate)
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
