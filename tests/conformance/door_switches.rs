//! `[doors]` switches and faults aimed at one door (docs/doors.md): a door switched off
//! finds no path even when a request reaches the broker (loopback, or racing the removal of
//! its proxy container), and a `[[fault]]` with `door = "…"` concerns that door only.

use axum::http::{Method, StatusCode};
use imds_spoof::broker::{CALLER_HEADER, SECRET_HEADER};
use imds_spoof::config::Door;
use imds_spoof::config::{Fault, FaultKind};

use crate::support::{request, Answer, Expected, Imds, RequestBuilder};

use crate::doors::{proxied, through_proxy, SECRET};

async fn send(imds: &Imds, request: RequestBuilder) -> Answer {
    Answer::from_response(imds.send_raw(request.build()).await).await
}

#[tokio::test]
async fn a_door_switched_off_finds_no_path() {
    let imds = proxied(|config| config.doors.ecs = false);
    let answer = send(
        &imds,
        through_proxy("/v2/credentials/self", "169.254.170.2"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text());
    assert!(!answer.text().contains("AccessKeyId"));
    let record = imds.last_record();
    assert_eq!(record.door, Door::Ecs);
    assert_eq!(
        record.provider_error.as_deref(),
        Some("the ECS door is off ([doors] ecs = false)")
    );
    // The other doors are not concerned.
    let answer = send(
        &imds,
        request(Method::GET, "/latest/meta-data/instance-id")
            .header(SECRET_HEADER, SECRET)
            .header(CALLER_HEADER, "169.254.0.7"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());

    let imds = proxied(|config| config.doors.eks = false);
    let answer = send(
        &imds,
        through_proxy("/v1/credentials", "169.254.170.23").header("authorization", "x"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text());
    let answer = send(
        &imds,
        through_proxy("/v2/credentials/self", "169.254.170.2"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

#[tokio::test]
async fn a_fault_for_one_door_leaves_the_others_alone() {
    let imds = proxied(|config| {
        config.faults.push(Fault {
            path_prefix: String::new(),
            door: Some(Door::Ecs),
            probability: 1.0,
            kind: FaultKind::Status { status: 503 },
        })
    });
    let answer = send(
        &imds,
        through_proxy("/v2/credentials/self", "169.254.170.2"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(imds.last_record().fault.as_deref(), Some("status 503"));
    // IMDS's credentials: the same fault "for every path" but for ECS only.
    let expected = Expected::sample_identity(0);
    let answer = send(
        &imds,
        request(Method::GET, &expected.credentials_path())
            .header(SECRET_HEADER, SECRET)
            .header(CALLER_HEADER, "169.254.0.7"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(imds.last_record().fault, None);
}
