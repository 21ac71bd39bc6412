//! The JSON documents and the values they must agree with: cases 10–15 and 27 (their
//! signatures, cases 43 and 55: signatures.rs).

use axum::http::StatusCode;
use imds_spoof::imds::time::parse_timestamp;
use time::OffsetDateTime;

use crate::support::{self, identity, Expected, Imds, CREDENTIALS_PATH, ROLE};

const CREDENTIAL_FIELDS: [&str; 7] = [
    "Code",
    "LastUpdated",
    "Type",
    "AccessKeyId",
    "SecretAccessKey",
    "Token",
    "Expiration",
];

/// A `YYYY-MM-DDTHH:MM:SSZ` timestamp, exactly.
fn assert_z_timestamp(value: &str, what: &str) -> OffsetDateTime {
    assert_eq!(value.len(), 20, "{what}: {value}");
    assert!(
        value.ends_with('Z') && value.as_bytes()[10] == b'T',
        "{what}: {value}"
    );
    parse_timestamp(value).unwrap_or_else(|| panic!("{what}: {value} does not parse"))
}

#[tokio::test]
async fn case_10_credentials_are_text_plain_with_all_seven_fields() {
    let imds = Imds::new();
    let answer = imds.get(CREDENTIALS_PATH).await;
    answer.assert_ok("credentials");
    let json = answer.json();
    let object = json.as_object().expect("an object");
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected = CREDENTIAL_FIELDS.to_vec();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "{}", answer.text());
    assert_eq!(json["Code"], "Success");
    assert_eq!(json["Type"], "AWS-HMAC");
    assert_eq!(
        json["AccessKeyId"],
        Expected::sample_identity(0).access_key.as_str()
    );
    assert_eq!(
        json["SecretAccessKey"],
        Expected::sample_identity(0).secret.as_str()
    );
    assert_eq!(json["Token"], Expected::sample_identity(0).token.as_str());
    // EC2's layout: `"Key" : value`, two-space indent.
    assert!(
        answer.text().starts_with("{\n  \"Code\" : \"Success\",\n"),
        "{}",
        answer.text()
    );
    // The instance identity role has the same shape.
    let identity = imds
        .get("/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance")
        .await;
    identity.assert_ok("identity credentials");
    for field in CREDENTIAL_FIELDS {
        assert!(identity.json().get(field).is_some(), "{field}");
    }
    let info = imds
        .get("/latest/meta-data/identity-credentials/ec2/info")
        .await;
    assert_eq!(
        info.json()["AccountId"],
        support::identity(0).account_id.as_str()
    );
}

#[tokio::test]
async fn case_11_expiration_is_in_the_future_in_z_form() {
    let imds = Imds::new();
    let json = imds.get(CREDENTIALS_PATH).await.json();
    let now = OffsetDateTime::now_utc();
    let expiration = assert_z_timestamp(json["Expiration"].as_str().unwrap_or(""), "Expiration");
    let updated = assert_z_timestamp(json["LastUpdated"].as_str().unwrap_or(""), "LastUpdated");
    // EC2 hands out credentials hours ahead; SDKs refresh when fewer than minutes remain.
    assert!(
        expiration - now > time::Duration::minutes(30),
        "{expiration}"
    );
    assert!(updated <= now && updated < expiration);
}

#[tokio::test]
async fn case_12_iam_info_names_an_instance_profile_of_the_account() {
    let imds = Imds::new();
    let answer = imds.get("/latest/meta-data/iam/info").await;
    answer.assert_ok("iam/info");
    let json = answer.json();
    assert_eq!(json["Code"], "Success");
    assert_eq!(
        json["InstanceProfileArn"],
        format!(
            "arn:aws:iam::{}:instance-profile/{ROLE}",
            identity(0).account_id
        )
    );
    let id = json["InstanceProfileId"].as_str().unwrap_or("");
    assert!(id.starts_with("AIPA") && id.len() == 21, "{id}");
    assert_z_timestamp(json["LastUpdated"].as_str().unwrap_or(""), "LastUpdated");
    // Without a role there is no iam/ at all, as on an instance without a profile.
    let no_role = Imds::with(|config| config.identities[0].role = None);
    assert!(!no_role.text("/latest/meta-data/").await.contains("iam/"));
    no_role
        .get("/latest/meta-data/iam/info")
        .await
        .assert_error(StatusCode::NOT_FOUND, "iam/info without role");
}

#[tokio::test]
async fn case_13_identity_document_agrees_with_meta_data() {
    for identity in ["default", "worker"] {
        let imds = Imds::with(|config| config.active_identity = identity.to_string());
        let answer = imds.get("/latest/dynamic/instance-identity/document").await;
        answer.assert_ok("document");
        let doc = answer.json();
        let imds = &imds;
        let meta = |leaf: &str| {
            let path = format!("/latest/meta-data/{leaf}");
            async move { imds.text(&path).await }
        };
        assert_eq!(doc["instanceId"], meta("instance-id").await.as_str());
        assert_eq!(doc["instanceType"], meta("instance-type").await.as_str());
        assert_eq!(doc["region"], meta("placement/region").await.as_str());
        assert_eq!(
            doc["availabilityZone"],
            meta("placement/availability-zone").await.as_str()
        );
        assert_eq!(doc["privateIp"], meta("local-ipv4").await.as_str());
        assert_eq!(doc["imageId"], meta("ami-id").await.as_str());
        assert_eq!(doc["accountId"], support::identity(0).account_id.as_str());
        assert_eq!(doc["version"], "2017-09-30");
        for null in [
            "billingProducts",
            "devpayProductCodes",
            "kernelId",
            "ramdiskId",
        ] {
            assert!(doc[null].is_null(), "{null}");
        }
        assert_z_timestamp(doc["pendingTime"].as_str().unwrap_or(""), "pendingTime");
    }
}

#[tokio::test]
async fn case_14_availability_zone_starts_with_the_region() {
    for identity in ["default", "worker"] {
        let imds = Imds::with(|config| config.active_identity = identity.to_string());
        let region = imds.text("/latest/meta-data/placement/region").await;
        let zone = imds
            .text("/latest/meta-data/placement/availability-zone")
            .await;
        assert!(
            zone.starts_with(&region) && zone.len() == region.len() + 1,
            "{zone} {region}"
        );
        let zone_id = imds
            .text("/latest/meta-data/placement/availability-zone-id")
            .await;
        assert!(!zone_id.is_empty());
    }
}

#[tokio::test]
async fn case_15_interface_by_mac_agrees_with_mac_and_local_ipv4() {
    for identity in ["default", "worker"] {
        let imds = Imds::with(|config| config.active_identity = identity.to_string());
        let mac = imds.text("/latest/meta-data/mac").await;
        let ip = imds.text("/latest/meta-data/local-ipv4").await;
        let macs = imds
            .text("/latest/meta-data/network/interfaces/macs/")
            .await;
        assert_eq!(macs, format!("{mac}/"));
        let base = format!("/latest/meta-data/network/interfaces/macs/{mac}/");
        assert_eq!(imds.text(&format!("{base}mac")).await, mac);
        assert_eq!(imds.text(&format!("{base}local-ipv4s")).await, ip);
        assert_eq!(
            imds.text(&format!("{base}local-hostname")).await,
            imds.text("/latest/meta-data/local-hostname").await
        );
    }
}

#[tokio::test]
async fn case_27_user_data_is_raw_and_404_when_unset() {
    let script = "#!/bin/sh\nprintf '%s' \"a=b&c\" # <not html> é\n";
    let imds = Imds::with(|config| config.identities[0].user_data = Some(script.to_string()));
    let answer = imds.get("/latest/user-data").await;
    answer.assert_ok("user-data");
    assert_eq!(answer.body.as_ref(), script.as_bytes());
    let worker = Imds::with(|config| config.active_identity = "worker".to_string());
    worker
        .get("/latest/user-data")
        .await
        .assert_error(StatusCode::NOT_FOUND, "user-data unset");
    assert_eq!(worker.text("/latest").await, "dynamic\nmeta-data");
}
