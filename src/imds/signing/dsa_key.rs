//! The DSA key behind `pkcs7`, and the adaptor that lets the X.509 and CMS builders sign
//! with it using the digest we choose.
//!
//! The `dsa` crate signs with SHA-256 through `Signer`, and names no algorithm for the
//! builders. EC2's `pkcs7` is DSA over SHA-1 (`dsaWithSHA1`, checked on a real capture), so
//! [`DsaWith`] picks the digest and the matching algorithm identifier.

use std::marker::PhantomData;

use der::asn1::BitString;
use der::oid::db::rfc5912::{DSA_WITH_SHA_1, DSA_WITH_SHA_256};
use der::oid::ObjectIdentifier;
use der::{Decode, Encode};
use dsa::signature::{DigestSigner, Keypair, Signer};
use dsa::{Components, SigningKey, VerifyingKey};
use rsa::rand_core::OsRng;
use sha1::Sha1;
use sha2::digest::core_api::BlockSizeUser;
use sha2::digest::{Digest, FixedOutputReset};
use sha2::Sha256;
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureBitStringEncoding};

use super::error::SigningError;

/// Domain parameters (p, q, g) for new DSA keys: 2048-bit p, 256-bit q, made once with
/// `openssl genpkey -genparam -algorithm DSA` (FIPS 186-4 generation).
///
/// Why fixed: finding p and q with `dsa::Components::generate` took 1.8 to 4.3 s here
/// (3 runs, dev profile; a random search, so it varies), which would stall a first start;
/// a key on these parameters takes about 1.5 ms. FIPS 186-4 lets keys share domain parameters;
/// only x (the private key) is secret, and each installation draws its own. A key file
/// carries its parameters, so these could change without breaking existing keys.
///
/// 2048/256 rather than EC2's 1024/160: checks at a security level (`openssl smime -verify
/// -auth_level 2`, TLS stacks) reject a 1024-bit DSA key as "too weak".
const PARAMETERS_PEM: &str = include_str!("dsa-parameters.pem");
const PARAMETERS_LABEL: &str = "DSA PARAMETERS";

/// A new DSA key on the shared parameters: a random x and its y, a few milliseconds.
pub(super) fn generate_key() -> Result<SigningKey, SigningError> {
    Ok(SigningKey::generate(&mut OsRng, shared_parameters()?))
}

/// The embedded domain parameters.
pub(super) fn shared_parameters() -> Result<Components, SigningError> {
    let (label, der) = der::pem::decode_vec(PARAMETERS_PEM.as_bytes()).map_err(der::Error::from)?;
    if label != PARAMETERS_LABEL {
        return Err(SigningError::Der(der::Tag::Sequence.value_error()));
    }
    Ok(Components::from_der(&der)?)
}

/// A digest DSA signs with here, and the signature algorithm that names the pair.
pub(super) trait DsaDigest: Digest + BlockSizeUser + FixedOutputReset {
    const SIGNATURE_ALGORITHM: ObjectIdentifier;
}

impl DsaDigest for Sha1 {
    const SIGNATURE_ALGORITHM: ObjectIdentifier = DSA_WITH_SHA_1;
}

impl DsaDigest for Sha256 {
    const SIGNATURE_ALGORITHM: ObjectIdentifier = DSA_WITH_SHA_256;
}

/// `key` signing with digest `D`: SHA-1 for `pkcs7` (as EC2), SHA-256 for its certificate,
/// which nothing about EC2 compatibility makes weaker.
pub(super) struct DsaWith<'k, D> {
    key: &'k SigningKey,
    digest: PhantomData<D>,
}

impl<'k, D> DsaWith<'k, D> {
    pub(super) fn new(key: &'k SigningKey) -> Self {
        Self {
            key,
            digest: PhantomData,
        }
    }
}

impl<D> Keypair for DsaWith<'_, D> {
    type VerifyingKey = VerifyingKey;

    fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key().clone()
    }
}

impl<D: DsaDigest> DynSignatureAlgorithmIdentifier for DsaWith<'_, D> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        // RFC 3279 section 2.2.2: the DSA signature algorithms take no parameters.
        Ok(AlgorithmIdentifierOwned {
            oid: D::SIGNATURE_ALGORITHM,
            parameters: None,
        })
    }
}

impl<D: DsaDigest> Signer<DsaSignature> for DsaWith<'_, D> {
    fn try_sign(&self, message: &[u8]) -> Result<DsaSignature, dsa::signature::Error> {
        // RFC 6979 deterministic k: the same document and time give the same blob.
        self.key
            .try_sign_digest(D::new_with_prefix(message))
            .map(DsaSignature)
    }
}

/// A DSA signature as the builders take it: the DER `Dss-Sig-Value` in a BIT STRING
/// (certificates) or OCTET STRING (CMS). The `dsa` crate's own type lacks that encoding.
pub(super) struct DsaSignature(pub(super) dsa::Signature);

impl SignatureBitStringEncoding for DsaSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0.to_der()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsa::signature::{DigestVerifier, SignatureEncoding};
    use num_bigint_dig::prime::probably_prime;
    use num_bigint_dig::BigUint;

    #[test]
    fn shared_parameters_are_a_valid_2048_256_group() {
        let components = shared_parameters().expect("embedded parameters parse");
        let to_dig = |value: &dsa::BigUint| BigUint::from_bytes_be(&value.to_bytes_be());
        let (p, q, g) = (
            to_dig(components.p()),
            to_dig(components.q()),
            to_dig(components.g()),
        );
        assert_eq!(p.bits(), 2048);
        assert_eq!(q.bits(), 256);
        assert!(probably_prime(&p, 20), "p is not prime");
        assert!(probably_prime(&q, 20), "q is not prime");
        let one = BigUint::from(1u8);
        assert_eq!(
            (&p - &one) % &q,
            BigUint::from(0u8),
            "q does not divide p - 1"
        );
        // g generates the order-q subgroup: g > 1 and g^q = 1 (mod p).
        assert!(g > one && g < p);
        assert_eq!(g.modpow(&q, &p), one);
    }

    #[test]
    fn sha1_signatures_verify_and_name_dsa_with_sha1() {
        let key = generate_key().expect("key");
        let signer = DsaWith::<Sha1>::new(&key);
        let algorithm = signer.signature_algorithm_identifier().expect("algorithm");
        assert_eq!(algorithm.oid.to_string(), "1.2.840.10040.4.3");
        assert!(algorithm.parameters.is_none());

        let DsaSignature(signature) = signer.try_sign(b"document").expect("sign");
        let verifying = key.verifying_key();
        verifying
            .verify_digest(Sha1::new_with_prefix(b"document"), &signature)
            .expect("verifies with SHA-1");
        assert!(verifying
            .verify_digest(Sha1::new_with_prefix(b"tampered"), &signature)
            .is_err());
        // Not secretly SHA-256 (the dsa crate's own `Signer` default).
        assert!(verifying
            .verify_digest(Sha256::new_with_prefix(b"document"), &signature)
            .is_err());
        // Deterministic (RFC 6979), so EC2-style "sign once, serve the same" holds.
        let again = signer.try_sign(b"document").expect("sign").0;
        assert_eq!(signature.to_vec(), again.to_vec());
    }

    #[test]
    fn new_keys_differ_but_share_the_parameters() {
        let first = generate_key().expect("key");
        let second = generate_key().expect("key");
        assert_ne!(first.x(), second.x());
        assert_eq!(
            first.verifying_key().components(),
            second.verifying_key().components()
        );
    }
}
