//! The PKCS#7 (CMS) `SignedData` blobs of `pkcs7` and `rsa2048`, shaped like EC2's.
//!
//! A real EC2 `pkcs7` (a capture in grailbio/base `cloud/ec2util/ec2util_test.go`) holds
//! the document itself as `id-data` content (not detached), one signer identified by issuer
//! and serial number, signed attributes content-type, signing-time and message-digest, and
//! no certificates. EC2 encodes it in BER with indefinite lengths; we write DER, which every
//! verifier reads the same way.

use std::time::SystemTime;

use base64::Engine;
use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{GeneralizedTime, SetOfVec, UtcTime};
use der::oid::db::rfc5911::{ID_DATA, ID_SIGNING_TIME};
use der::{Any, DateTime, Decode, Encode, Tag};
use dsa::signature::{Keypair, Signer};
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureBitStringEncoding};
use x509_cert::attr::{Attribute, AttributeValue};

use super::error::SigningError;

/// Base64 line width of the served blobs. Real EC2 captures (the one above, and those in
/// other projects' tests) break at 76 columns, MIME's width, not PEM's 64; the AWS EC2
/// metadata mock (AEMM) does the same. How EC2 breaks blobs of other sizes is unverified.
pub(super) const LINE_WIDTH: usize = 76;

/// A `SignedData` over `document` with the document embedded, signed by `signer` with the
/// digest `digest` at `signing_time`, as base64 in [`LINE_WIDTH`] lines without PEM armour
/// and without a trailing newline.
pub(super) fn signed_data<S, Signature>(
    signer: &S,
    signer_id: SignerIdentifier,
    digest: AlgorithmIdentifierOwned,
    document: &[u8],
    signing_time: SystemTime,
) -> Result<String, SigningError>
where
    S: Keypair + DynSignatureAlgorithmIdentifier + Signer<Signature>,
    Signature: SignatureBitStringEncoding,
{
    let content = EncapsulatedContentInfo {
        econtent_type: ID_DATA,
        econtent: Some(Any::new(Tag::OctetString, document)?),
    };
    // No external digest: the builder hashes the embedded content with `digest` and adds
    // the content-type and message-digest attributes itself.
    let mut signer_info =
        SignerInfoBuilder::new(signer, signer_id, digest.clone(), &content, None)?;
    signer_info.add_signed_attribute(signing_time_attribute(signing_time)?)?;
    // Like EC2, no certificate is embedded: verifiers must supply the one they trust
    // (`-certfile`). Embedding it would make AWS's documented `-noverify` command accept
    // a blob signed by any key that carries its own certificate.
    let content_info = SignedDataBuilder::new(&content)
        .add_digest_algorithm(digest)?
        .add_signer_info::<S, Signature>(signer_info)?
        .build()?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(content_info.to_der()?);
    Ok(wrap_lines(&encoded, LINE_WIDTH))
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

/// Breaks an ASCII string into lines of `width` characters, without a trailing newline.
pub(super) fn wrap_lines(text: &str, width: usize) -> String {
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

    #[test]
    fn wrap_lines_breaks_at_width() {
        assert_eq!(wrap_lines("abcdefg", 3), "abc\ndef\ng");
        assert_eq!(wrap_lines("abcdef", 3), "abc\ndef");
        assert_eq!(wrap_lines("", 3), "");
    }
}
