//! Signatures checked with the Rust crates alone (openssl's view: tests/conformance, cases
//! 43 and 55), and the key files.

use std::time::{Duration, SystemTime};

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo};
use der::oid::db::rfc5911::{ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use der::referenced::OwnedToRef;
use der::{Decode, DecodePem, Encode};
use rsa::pkcs1v15::VerifyingKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use x509_cert::Certificate;

use super::keys::IdentityKey;
use super::pkcs7::LINE_WIDTH;
use super::*;

/// Shaped like EC2's document: pretty-printed JSON with LF line endings.
const DOCUMENT: &[u8] = b"{\n  \"accountId\" : \"123456789012\",\n  \"architecture\" : \"x86_64\",\n  \"availabilityZone\" : \"us-east-1a\",\n  \"imageId\" : \"ami-0abcdef1234567890\",\n  \"instanceId\" : \"i-1234567890abcdef0\",\n  \"instanceType\" : \"t3.micro\",\n  \"pendingTime\" : \"2024-01-01T00:00:00Z\",\n  \"privateIp\" : \"10.0.0.10\",\n  \"region\" : \"us-east-1\",\n  \"version\" : \"2017-09-30\"\n}";

fn launch() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200)
}

fn decode_base64(text: &str) -> Vec<u8> {
    let joined: String = text.lines().collect();
    base64::engine::general_purpose::STANDARD
        .decode(joined)
        .expect("valid base64")
}

/// The one signer of a served blob, with the content it carries.
struct Parsed {
    content: Vec<u8>,
    digest_algorithm: String,
    signer: SignerInfo,
}

fn parse_blob(blob: &str) -> Parsed {
    let info = ContentInfo::from_der(&decode_base64(blob)).expect("ContentInfo");
    assert_eq!(info.content_type, ID_SIGNED_DATA);
    let signed: SignedData = info.content.decode_as().expect("SignedData");
    assert!(signed.certificates.is_none(), "no certificate embedded");
    let content = signed
        .encap_content_info
        .econtent
        .expect("document embedded, not detached");
    let content = der::asn1::OctetString::from_der(&content.to_der().expect("der"))
        .expect("content is an OCTET STRING")
        .into_bytes();
    let digests: Vec<_> = signed.digest_algorithms.iter().collect();
    assert_eq!(digests.len(), 1);
    let signers: Vec<_> = signed.signer_infos.0.iter().cloned().collect();
    assert_eq!(signers.len(), 1);
    let signer = signers.into_iter().next().expect("signer");
    assert_eq!(signer.digest_alg.oid, digests[0].oid);
    Parsed {
        content,
        digest_algorithm: signer.digest_alg.oid.to_string(),
        signer,
    }
}

impl Parsed {
    /// The message-digest attribute, and the DER of the signed attributes (what is signed).
    fn signed_attributes(&self) -> (Vec<u8>, Vec<u8>) {
        let attributes = self
            .signer
            .signed_attrs
            .as_ref()
            .expect("signed attributes");
        let digest = attributes
            .iter()
            .find(|attribute| attribute.oid == ID_MESSAGE_DIGEST)
            .expect("message-digest attribute");
        let value = digest.values.iter().next().expect("a value");
        let digest = der::asn1::OctetString::from_der(&value.to_der().expect("der"))
            .expect("OCTET STRING")
            .into_bytes();
        (digest, attributes.to_der().expect("der"))
    }
}

fn certificate(pem: &str) -> Certificate {
    Certificate::from_pem(pem).expect("certificate")
}

fn rsa_verifier(pem: &str) -> VerifyingKey<Sha256> {
    let spki = certificate(pem).tbs_certificate.subject_public_key_info;
    VerifyingKey::new(RsaPublicKey::try_from(spki.owned_to_ref()).expect("RSA key"))
}

fn dsa_verifier(pem: &str) -> dsa::VerifyingKey {
    let spki = certificate(pem).tbs_certificate.subject_public_key_info;
    dsa::VerifyingKey::try_from(spki.owned_to_ref()).expect("DSA key")
}

fn assert_served_shape(blob: &str) {
    assert!(!blob.contains("-----"), "no PEM armour");
    assert!(!blob.ends_with('\n'));
    let lines: Vec<&str> = blob.lines().collect();
    let (last, full) = lines.split_last().expect("lines");
    assert!(!full.is_empty());
    assert!(full.iter().all(|line| line.len() == LINE_WIDTH));
    assert!(!last.is_empty() && last.len() <= LINE_WIDTH);
}

#[test]
fn signature_verifies_with_the_rsa_certificate() {
    let signer = IdentitySigner::generate().expect("generate");
    let text = signer.signature(DOCUMENT);
    assert!(!text.contains('\n'));
    // Through the certificate, which is what users get, not the in-memory key.
    let verifier = rsa_verifier(signer.rsa_certificate_pem());
    let signature = Signature::try_from(decode_base64(&text).as_slice()).expect("signature");
    verifier.verify(DOCUMENT, &signature).expect("valid");
    assert!(verifier.verify(b"tampered", &signature).is_err());
}

#[test]
fn pkcs7_embeds_the_document_signed_with_sha1_and_dsa() {
    let signer = IdentitySigner::generate().expect("generate");
    let blob = signer.pkcs7_at(DOCUMENT, launch()).expect("pkcs7");
    assert_served_shape(&blob);
    let parsed = parse_blob(&blob);
    assert_eq!(parsed.content, DOCUMENT);
    assert_eq!(parsed.digest_algorithm, "1.3.14.3.2.26", "SHA-1");
    assert_eq!(
        parsed.signer.signature_algorithm.oid.to_string(),
        "1.2.840.10040.4.3",
        "dsaWithSHA1"
    );
    let (digest, signed) = parsed.signed_attributes();
    assert_eq!(digest, Sha1::digest(DOCUMENT).as_slice());

    use dsa::signature::DigestVerifier;
    let signature =
        dsa::Signature::from_der(parsed.signer.signature.as_bytes()).expect("DSA signature");
    let verifier = dsa_verifier(signer.dsa_certificate_pem());
    verifier
        .verify_digest(Sha1::new_with_prefix(&signed), &signature)
        .expect("verifies with the DSA certificate");
    let other = IdentitySigner::generate().expect("generate");
    assert!(dsa_verifier(other.dsa_certificate_pem())
        .verify_digest(Sha1::new_with_prefix(&signed), &signature)
        .is_err());
}

#[test]
fn rsa2048_embeds_the_document_signed_with_sha256_and_rsa() {
    let signer = IdentitySigner::generate().expect("generate");
    let blob = signer.rsa2048_at(DOCUMENT, launch()).expect("rsa2048");
    assert_served_shape(&blob);
    let parsed = parse_blob(&blob);
    assert_eq!(parsed.content, DOCUMENT);
    assert_eq!(parsed.digest_algorithm, "2.16.840.1.101.3.4.2.1", "SHA-256");
    let (digest, signed) = parsed.signed_attributes();
    assert_eq!(digest, Sha256::digest(DOCUMENT).as_slice());
    let signature = Signature::try_from(parsed.signer.signature.as_bytes()).expect("signature");
    let verifier = rsa_verifier(signer.rsa_certificate_pem());
    verifier.verify(&signed, &signature).expect("verifies");
    assert!(verifier.verify(b"tampered", &signature).is_err());
    // The RSA certificate must not verify `pkcs7`, nor the DSA one `rsa2048`: distinct keys.
    assert_ne!(
        certificate(signer.rsa_certificate_pem())
            .tbs_certificate
            .subject_public_key_info,
        certificate(signer.dsa_certificate_pem())
            .tbs_certificate
            .subject_public_key_info
    );
}

#[test]
fn blobs_at_a_fixed_time_are_stable() {
    let signer = IdentitySigner::generate().expect("generate");
    let later = launch() + Duration::from_secs(1);
    for sign in [IdentitySigner::pkcs7_at, IdentitySigner::rsa2048_at] {
        let first = sign(&signer, DOCUMENT, launch()).expect("sign");
        assert_eq!(first, sign(&signer, DOCUMENT, launch()).expect("sign"));
        assert_ne!(first, sign(&signer, DOCUMENT, later).expect("sign"));
        // Past 2049 the attribute switches to GeneralizedTime; it must still encode.
        let far_future = SystemTime::UNIX_EPOCH + Duration::from_secs(2_600_000_000);
        assert!(sign(&signer, DOCUMENT, far_future).is_ok());
    }
}

#[test]
fn certificates_are_self_signed_long_lived_and_named_apart() {
    let signer = IdentitySigner::generate().expect("generate");
    for (pem, subject) in [
        (signer.rsa_certificate_pem(), RsaKey::SUBJECT),
        (signer.dsa_certificate_pem(), DsaKey::SUBJECT),
    ] {
        let tbs = certificate(pem).tbs_certificate;
        assert_eq!(tbs.subject, tbs.issuer, "self-signed");
        assert_eq!(tbs.subject.to_string(), subject);
        let not_before = tbs.validity.not_before.to_system_time();
        let not_after = tbs.validity.not_after.to_system_time();
        let lifetime = not_after.duration_since(not_before).expect("ordered");
        assert!(lifetime > Duration::from_secs(9 * 365 * 24 * 60 * 60));
    }
    // The DSA certificate is signed with SHA-256, not SHA-1: chain checks accept it.
    let dsa = certificate(signer.dsa_certificate_pem());
    assert_eq!(
        dsa.signature_algorithm.oid.to_string(),
        "2.16.840.1.101.3.4.3.2"
    );
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn load_or_create_persists_and_protects_both_keys() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("nested").join("imds-spoof");

    let first = IdentitySigner::load_or_create(&dir).expect("create");
    let second = IdentitySigner::load_or_create(&dir).expect("load");
    assert_eq!(first.rsa_certificate_pem(), second.rsa_certificate_pem());
    assert_eq!(first.dsa_certificate_pem(), second.dsa_certificate_pem());
    // Same keys, not merely the same certificate files.
    assert_eq!(first.signature(DOCUMENT), second.signature(DOCUMENT));
    assert_eq!(
        first.pkcs7_at(DOCUMENT, launch()).expect("pkcs7"),
        second.pkcs7_at(DOCUMENT, launch()).expect("pkcs7")
    );

    for key in [KEY_FILE_NAME, DSA_KEY_FILE_NAME] {
        assert_eq!(mode(&dir.join(key)), 0o600, "{key}");
    }
    for published in PUBLISHED_CERTIFICATES {
        let path = dir.join(published.file_name);
        assert_eq!(mode(&path), 0o644, "{}", published.file_name);
        let pem = std::fs::read_to_string(&path).expect("certificate file");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
    assert_eq!(
        std::fs::read_to_string(dir.join(DSA_CERT_FILE_NAME)).expect("read"),
        first.dsa_certificate_pem()
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn an_rsa_only_installation_keeps_its_key_and_gains_a_dsa_key() {
    let temp = tempfile::tempdir().expect("tempdir");
    let first = IdentitySigner::load_or_create(temp.path()).expect("create");
    // As a release before the DSA key left it.
    std::fs::remove_file(temp.path().join(DSA_KEY_FILE_NAME)).expect("remove");
    std::fs::remove_file(temp.path().join(DSA_CERT_FILE_NAME)).expect("remove");
    let second = IdentitySigner::load_or_create(temp.path()).expect("upgrade");
    assert_eq!(first.rsa_certificate_pem(), second.rsa_certificate_pem());
    assert_ne!(first.dsa_certificate_pem(), second.dsa_certificate_pem());
    assert!(temp.path().join(DSA_KEY_FILE_NAME).exists());
}

#[test]
fn missing_certificate_is_reissued_for_existing_key() {
    let temp = tempfile::tempdir().expect("tempdir");
    let first = IdentitySigner::load_or_create(temp.path()).expect("create");
    std::fs::remove_file(temp.path().join(CERT_FILE_NAME)).expect("remove cert");
    std::fs::remove_file(temp.path().join(DSA_CERT_FILE_NAME)).expect("remove cert");
    let second = IdentitySigner::load_or_create(temp.path()).expect("reissue");
    assert_ne!(first.rsa_certificate_pem(), second.rsa_certificate_pem());
    assert_ne!(first.dsa_certificate_pem(), second.dsa_certificate_pem());
    assert_eq!(first.signature(DOCUMENT), second.signature(DOCUMENT));
    // Same DSA key: the new certificate verifies what the old key signed.
    let blob = first.pkcs7_at(DOCUMENT, launch()).expect("pkcs7");
    let (_, signed) = parse_blob(&blob).signed_attributes();
    let signature = dsa::Signature::from_der(parse_blob(&blob).signer.signature.as_bytes())
        .expect("DSA signature");
    use dsa::signature::DigestVerifier;
    dsa_verifier(second.dsa_certificate_pem())
        .verify_digest(Sha1::new_with_prefix(&signed), &signature)
        .expect("reissued certificate verifies");
}

#[test]
fn mismatched_certificate_is_an_error() {
    let temp = tempfile::tempdir().expect("tempdir");
    IdentitySigner::load_or_create(temp.path()).expect("create");
    let other = IdentitySigner::generate().expect("generate");
    for (file, pem) in [
        (CERT_FILE_NAME, other.rsa_certificate_pem()),
        (DSA_CERT_FILE_NAME, other.dsa_certificate_pem()),
    ] {
        let path = temp.path().join(file);
        let kept = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, pem).expect("overwrite cert");
        let error = IdentitySigner::load_or_create(temp.path()).expect_err("mismatch");
        assert!(matches!(error, SigningError::KeyMismatch { .. }), "{error}");
        assert!(error.to_string().contains(file), "{error}");
        std::fs::write(&path, kept).expect("restore");
    }
    IdentitySigner::load_or_create(temp.path()).expect("restored files load");
}

#[test]
fn unreadable_key_error_names_the_path() {
    for file in [KEY_FILE_NAME, DSA_KEY_FILE_NAME] {
        let temp = tempfile::tempdir().expect("tempdir");
        IdentitySigner::load_or_create(temp.path()).expect("create");
        let key_path = temp.path().join(file);
        std::fs::write(&key_path, "not a key").expect("write");
        let error = IdentitySigner::load_or_create(temp.path()).expect_err("invalid key");
        assert!(
            error.to_string().contains(&key_path.display().to_string()),
            "{error}"
        );
        // Nothing was replaced: the user's file is left for them to inspect.
        assert_eq!(
            std::fs::read_to_string(&key_path).expect("read"),
            "not a key"
        );
    }
}

#[test]
fn debug_output_shows_no_key_material() {
    let signer = IdentitySigner::generate().expect("generate");
    let shown = format!("{signer:?}");
    assert!(
        shown.contains("rsa_serial") && shown.contains("dsa_serial"),
        "{shown}"
    );
    let x = signer.dsa.key.x().to_string();
    assert!(!shown.contains(&x));
}
