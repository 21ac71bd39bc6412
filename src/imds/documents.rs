//! The JSON documents IMDS serves, laid out the way EC2 lays them out
//! (`"Key" : value`, two-space indent), so byte-level comparisons with EC2 hold.

use serde_json::Value;
use time::OffsetDateTime;

use crate::config::{Identity, MaintenanceEvent};

use super::signing::{IdentitySigner, SigningError};
use super::time::format_timestamp;

/// The identity document with its three signature forms.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedDocument {
    pub document: String,
    pub signature: String,
    pub pkcs7: String,
    pub rsa2048: String,
}

/// Pretty-prints an object as EC2 does: `{\n  "Key" : value,\n ... }`.
pub fn ec2_json(fields: &[(&str, Value)]) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(64 * fields.len().max(1));
    out.extend_from_slice(b"{\n");
    for (index, (key, value)) in fields.iter().enumerate() {
        if index > 0 {
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(b"  ");
        // Writing JSON into a Vec cannot fail; serde_json does the escaping.
        let _ = serde_json::to_writer(&mut out, key);
        out.extend_from_slice(b" : ");
        let _ = serde_json::to_writer(&mut out, value);
    }
    out.extend_from_slice(b"\n}");
    String::from_utf8(out).unwrap_or_default()
}

/// `dynamic/instance-identity/document`; `pending` is when the instance "launched".
pub fn identity_document(identity: &Identity, pending: OffsetDateTime) -> String {
    ec2_json(&[
        ("accountId", identity.account_id.clone().into()),
        ("architecture", identity.architecture.clone().into()),
        (
            "availabilityZone",
            identity.availability_zone.clone().into(),
        ),
        ("billingProducts", Value::Null),
        ("devpayProductCodes", Value::Null),
        ("marketplaceProductCodes", Value::Null),
        ("imageId", identity.ami_id.clone().into()),
        ("instanceId", identity.instance_id.clone().into()),
        ("instanceType", identity.instance_type.clone().into()),
        ("kernelId", Value::Null),
        ("pendingTime", format_timestamp(pending).into()),
        ("privateIp", identity.local_ipv4.to_string().into()),
        ("ramdiskId", Value::Null),
        ("region", identity.region.clone().into()),
        ("version", "2017-09-30".into()),
    ])
}

/// Signs the identity document in every form EC2 offers.
pub fn signed_identity_document(
    identity: &Identity,
    pending: OffsetDateTime,
    signer: &IdentitySigner,
) -> Result<SignedDocument, SigningError> {
    let document = identity_document(identity, pending);
    // Signed at the launch time, like EC2, so the blobs stay the same between requests.
    let pkcs7 = signer.pkcs7_at(document.as_bytes(), pending.into())?;
    let rsa2048 = signer.rsa2048_at(document.as_bytes(), pending.into())?;
    Ok(SignedDocument {
        signature: signer.signature(document.as_bytes()),
        pkcs7,
        rsa2048,
        document,
    })
}

/// AWS partition and service domain of a region.
pub fn partition_of(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("cn-") {
        ("amazonaws.com.cn", "aws-cn")
    } else if region.starts_with("us-gov-") {
        ("amazonaws.com", "aws-us-gov")
    } else {
        ("amazonaws.com", "aws")
    }
}

/// A stable fake id (`AIPA` + 17 uppercase characters) derived from text, so the same
/// role always gets the same InstanceProfileId.
pub fn derived_id(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a is enough: the id only has to be stable and look like an AWS id.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut id = String::from(prefix);
    for round in 0..17u64 {
        for byte in seed.bytes().chain(round.to_le_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        id.push(char::from(ALPHABET[(hash % 32) as usize]));
    }
    id
}

/// `iam/info`.
pub fn iam_info(identity: &Identity, role_name: &str) -> String {
    let (_, partition) = partition_of(&identity.region);
    ec2_json(&[
        ("Code", "Success".into()),
        (
            "LastUpdated",
            format_timestamp(OffsetDateTime::now_utc()).into(),
        ),
        (
            "InstanceProfileArn",
            format!(
                "arn:{partition}:iam::{}:instance-profile/{role_name}",
                identity.account_id
            )
            .into(),
        ),
        (
            "InstanceProfileId",
            derived_id("AIPA", &format!("{}/{role_name}", identity.account_id)).into(),
        ),
    ])
}

/// `identity-credentials/ec2/info`.
pub fn identity_credentials_info(identity: &Identity) -> String {
    ec2_json(&[
        ("Code", "Success".into()),
        (
            "LastUpdated",
            format_timestamp(OffsetDateTime::now_utc()).into(),
        ),
        ("AccountId", identity.account_id.clone().into()),
    ])
}

/// Credentials as served under `iam/security-credentials/ROLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub token: Option<String>,
    pub expiration: OffsetDateTime,
    pub last_updated: OffsetDateTime,
}

impl Credentials {
    /// The JSON EC2 serves, with all seven fields.
    pub fn to_imds_json(&self) -> String {
        ec2_json(&self.fields())
    }

    /// `iam/security-credentials-extended/ROLE`: the same fields and `AccountId` last, where
    /// the SDKs' test fixtures put it (Java v2 `InstanceProfileCredentialsProviderExtendedApiTest`,
    /// PHP and Ruby specs); its place in EC2's document is unverified, and no client depends
    /// on the order.
    pub fn to_imds_json_extended(&self, account_id: &str) -> String {
        let mut fields = self.fields();
        fields.push(("AccountId", account_id.into()));
        ec2_json(&fields)
    }

    fn fields(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("Code", "Success".into()),
            ("LastUpdated", format_timestamp(self.last_updated).into()),
            ("Type", "AWS-HMAC".into()),
            ("AccessKeyId", self.access_key_id.clone().into()),
            ("SecretAccessKey", self.secret_access_key.clone().into()),
            ("Token", self.token.clone().unwrap_or_default().into()),
            ("Expiration", format_timestamp(self.expiration).into()),
        ]
    }
}

/// `events/maintenance/scheduled`: `[]` when there are none.
pub fn maintenance_events(events: &[MaintenanceEvent]) -> String {
    if events.is_empty() {
        return "[]".to_string();
    }
    let items: Vec<String> = events
        .iter()
        .map(|event| {
            let mut fields = vec![
                ("NotBefore", Value::from(event.not_before.clone())),
                ("Code", event.code.clone().into()),
                ("Description", event.description.clone().into()),
                ("EventId", event.event_id.clone().into()),
                ("NotAfter", event.not_after.clone().into()),
                ("State", event.state.clone().into()),
            ];
            if let Some(deadline) = &event.not_before_deadline {
                fields.push(("NotBeforeDeadline", deadline.clone().into()));
            }
            ec2_json(&fields)
        })
        .collect();
    format!("[ {} ]", items.join(", "))
}

/// `events/recommendations/rebalance`, spaced like AWS's examples:
/// `{"noticeTime": "2020-10-27T08:22:00Z"}`.
pub fn rebalance(notice_time: &str) -> String {
    format!("{{\"noticeTime\": {}}}", Value::from(notice_time))
}

/// `spot/instance-action`, spaced like AWS's examples:
/// `{"action": "terminate", "time": "2017-09-18T08:22:00Z"}`.
pub fn spot_instance_action(action: &str, time: &str) -> String {
    format!(
        "{{\"action\": {}, \"time\": {}}}",
        Value::from(action),
        Value::from(time)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_json_matches_ec2_layout() {
        let text = ec2_json(&[("Code", "Success".into()), ("N", Value::Null)]);
        assert_eq!(text, "{\n  \"Code\" : \"Success\",\n  \"N\" : null\n}");
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["Code"], "Success");
    }

    #[test]
    fn notices_are_json_spaced_like_aws_examples() {
        assert_eq!(
            spot_instance_action("terminate", "2017-09-18T08:22:00Z"),
            r#"{"action": "terminate", "time": "2017-09-18T08:22:00Z"}"#
        );
        assert_eq!(
            rebalance("2020-10-27T08:22:00Z"),
            r#"{"noticeTime": "2020-10-27T08:22:00Z"}"#
        );
        let odd: Value = serde_json::from_str(&spot_instance_action("a\"b", "t")).unwrap();
        assert_eq!(odd["action"], "a\"b");
    }

    #[test]
    fn derived_ids_are_stable_and_shaped() {
        let id = derived_id("AIPA", "123/role");
        assert_eq!(id, derived_id("AIPA", "123/role"));
        assert_ne!(id, derived_id("AIPA", "123/other"));
        assert_eq!(id.len(), 21);
        assert!(id[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }
}
