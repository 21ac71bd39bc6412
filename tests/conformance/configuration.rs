//! Settings changing at run time: cases 33, 37 and 38.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use imds_spoof::config::{ConfigStore, DisabledBehaviour, SAMPLE_CONFIG};
use imds_spoof::provider::BuiltinProvider;

use crate::support::{
    identity, loopback, request, Expected, Imds, CREDENTIALS_PATH, SIGNER, TOKEN_PATH,
};

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";

#[tokio::test]
async fn case_33_disabled_imds_forbidden() {
    // 403 is what `enabled = false` does unless told otherwise, as on EC2.
    let imds = Imds::with(|config| config.imds.enabled = false);
    assert_eq!(
        imds.store.current().imds.disabled_behaviour,
        DisabledBehaviour::Forbidden
    );
    for (method, path) in [
        (Method::GET, INSTANCE_ID),
        (Method::PUT, TOKEN_PATH),
        (Method::GET, "/"),
    ] {
        imds.send(request(method.clone(), path).ttl("60").build())
            .await
            .assert_forbidden(&format!("{method} {path}"));
    }
    imds.update(|config| config.imds.enabled = true);
    imds.get(INSTANCE_ID).await.assert_ok("re-enabled");
}

#[tokio::test]
async fn case_33_disabled_imds_no_answer() {
    let imds = Imds::with(|config| {
        config.imds.enabled = false;
        config.imds.disabled_behaviour = DisabledBehaviour::NoAnswer;
    });
    for (method, path) in [(Method::GET, INSTANCE_ID), (Method::PUT, TOKEN_PATH)] {
        let answered = imds
            .answers_within_wait(request(method.clone(), path).ttl("60").build())
            .await;
        assert!(!answered, "{method} {path} was answered while IMDS is off");
    }
    // Recorded as "no answer".
    let records = imds.state.recorder.snapshot();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|record| record.status == 0));
    imds.update(|config| config.imds.enabled = true);
    imds.get(INSTANCE_ID).await.assert_ok("re-enabled");
}

#[tokio::test]
async fn case_37_switching_the_active_identity_changes_the_next_answer() {
    let imds = Imds::new();
    assert_eq!(
        imds.text(INSTANCE_ID).await,
        identity(0).instance_id.as_str()
    );
    let default_document = imds
        .text("/latest/dynamic/instance-identity/document")
        .await;
    let default_keys = imds.get(CREDENTIALS_PATH).await.json();
    imds.update(|config| config.active_identity = "worker".to_string());
    assert_eq!(
        imds.text(INSTANCE_ID).await,
        identity(1).instance_id.as_str()
    );
    assert_eq!(
        imds.text("/latest/meta-data/placement/region").await,
        identity(1).region.as_str()
    );
    let document = imds
        .text("/latest/dynamic/instance-identity/document")
        .await;
    assert_ne!(document, default_document);
    assert!(
        document.contains("\"architecture\" : \"arm64\""),
        "{document}"
    );
    assert_eq!(
        imds.text("/latest/meta-data/iam/security-credentials/")
            .await,
        Expected::sample_identity(1).role.as_str()
    );
    let keys = imds
        .get(&Expected::sample_identity(1).credentials_path())
        .await
        .json();
    assert_ne!(keys["AccessKeyId"], default_keys["AccessKeyId"]);
    assert_eq!(
        keys["AccessKeyId"],
        Expected::sample_identity(1).access_key.as_str()
    );
    // The worker has no user-data and no public address.
    imds.get("/latest/user-data")
        .await
        .assert_error(StatusCode::NOT_FOUND, "user-data");
    imds.get("/latest/meta-data/public-ipv4")
        .await
        .assert_error(StatusCode::NOT_FOUND, "public-ipv4");
    imds.update(|config| config.active_identity = "default".to_string());
    assert_eq!(
        imds.text(INSTANCE_ID).await,
        identity(0).instance_id.as_str()
    );
}

#[tokio::test]
async fn case_38_editing_the_file_changes_the_next_answer_and_bad_edits_are_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, SAMPLE_CONFIG).expect("write config");
    let store = ConfigStore::from_file(&path, None).expect("load config");
    let provider = Arc::new(BuiltinProvider::new(store.clone(), SIGNER.clone()));
    let imds = Imds::from_parts(store.clone(), provider, loopback(), |_| {});
    assert_eq!(
        imds.text(INSTANCE_ID).await,
        identity(0).instance_id.as_str()
    );

    let edited = SAMPLE_CONFIG
        .replace(identity(0).instance_id.as_str(), "i-0aaaaaaaaaaaaaaaa")
        .replace("tokens = \"optional\"", "tokens = \"required\"");
    std::fs::write(&path, &edited).expect("edit config");
    store.reload().expect("valid edit applies");
    imds.get(INSTANCE_ID)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "tokens now required");
    let token = imds.token(60).await;
    assert_eq!(
        imds.get_v2(INSTANCE_ID, &token).await.text(),
        "i-0aaaaaaaaaaaaaaaa"
    );

    // A syntax error, then a semantic one: both keep the last good values.
    for broken in [
        edited.replace("[imds]", "[imds"),
        edited.replace("i-0aaaaaaaaaaaaaaaa", "not-an-instance-id"),
    ] {
        std::fs::write(&path, broken).expect("break config");
        assert!(store.reload().is_err(), "an invalid edit was accepted");
        assert!(store.errors().borrow().is_some());
        assert_eq!(
            imds.get_v2(INSTANCE_ID, &token).await.text(),
            "i-0aaaaaaaaaaaaaaaa"
        );
    }
    std::fs::write(&path, SAMPLE_CONFIG).expect("restore config");
    store.reload().expect("restored");
    assert_eq!(
        imds.text(INSTANCE_ID).await,
        identity(0).instance_id.as_str()
    );
}
