//! Every exchange is recorded, and the masked copy hides secrets.

use axum::http::Method;
use imds_spoof::broker::ImdsVersion;

use crate::support::{identity, request, Expected, Imds, CREDENTIALS_PATH, TOKEN_PATH};

#[tokio::test]
async fn every_exchange_is_recorded() {
    let imds = Imds::new();
    imds.get("/latest/meta-data/instance-id").await;
    let token = imds.token(60).await;
    imds.get_v2(CREDENTIALS_PATH, &token).await;
    imds.get("/latest/nothing").await;
    imds.send(request(Method::POST, "/latest/meta-data/").build())
        .await;
    imds.get_v2("/latest/meta-data/ami-id", "garbage").await;

    let records = imds.state.recorder.snapshot();
    let seen: Vec<(&str, &str, ImdsVersion, u16)> = records
        .iter()
        .map(|r| (&*r.method, r.path.as_str(), r.version, r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET", "/latest/meta-data/instance-id", ImdsVersion::V1, 200),
            ("PUT", TOKEN_PATH, ImdsVersion::TokenRequest, 200),
            ("GET", CREDENTIALS_PATH, ImdsVersion::V2, 200),
            ("GET", "/latest/nothing", ImdsVersion::V1, 404),
            ("POST", "/latest/meta-data/", ImdsVersion::V1, 405),
            ("GET", "/latest/meta-data/ami-id", ImdsVersion::V2, 401),
        ]
    );
    let ids: Vec<u64> = records.iter().map(|r| r.id).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    for record in &records {
        assert_eq!(record.identity, "default");
        assert_eq!(record.caller_ip, Some("127.0.0.1".parse().expect("ip")));
        assert!(
            record.time.ends_with('Z') && record.time.len() == 24,
            "{}",
            record.time
        );
        assert!(
            record
                .response_headers
                .iter()
                .any(|(n, v)| n == "server" && v == "EC2ws"),
            "{:?}",
            record.response_headers
        );
    }
    assert_eq!(records[0].response_body, identity(0).instance_id.as_str());
    assert_eq!(records[1].response_body, token);

    // The identity used is the one answered.
    imds.update(|config| config.active_identity = "worker".to_string());
    imds.get("/latest/meta-data/instance-id").await;
    let last = imds.last_record();
    assert_eq!(last.identity, "worker");
    assert_eq!(last.response_body, identity(1).instance_id.as_str());
}

#[tokio::test]
async fn masked_records_hide_keys_and_tokens() {
    let imds = Imds::new();
    let token = imds.token(60).await;
    imds.get_v2(CREDENTIALS_PATH, &token).await;
    let records = imds.state.recorder.snapshot();
    let expected = Expected::sample_identity(0);
    let secret = expected.secret.as_str();
    let session = expected.token.as_str();
    // What the mask leaves: four stars and the last four characters.
    let tail = |value: &str| format!("****{}", &value[value.len() - 4..]);

    let credentials = &records[1];
    assert!(
        credentials.response_body.contains(secret),
        "the record keeps the answer"
    );
    let masked = credentials.masked();
    let text = serde_json::to_string(&masked).expect("serialize");
    assert!(!text.contains(secret), "{text}");
    assert!(!text.contains(session), "{text}");
    assert!(!text.contains(&token), "request token header shown: {text}");
    // Enough is left to tell values apart, and the document keeps its shape.
    assert!(masked.response_body.contains(expected.access_key.as_str()));
    assert!(
        masked.response_body.contains(&tail(secret)),
        "{}",
        masked.response_body
    );
    let json: serde_json::Value =
        serde_json::from_str(&masked.response_body).expect("masked body is JSON");
    assert_eq!(json["Token"], tail(session));

    let token_put = records[0].masked();
    assert!(!serde_json::to_string(&token_put)
        .expect("serialize")
        .contains(&token));
}
