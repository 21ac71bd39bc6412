//! Tags and simulated instance events: cases 28–32.

use axum::http::StatusCode;
use imds_spoof::config::{Config, MaintenanceEvent};

use crate::support::{identity, Imds};

const SPOT_TIME: &str = "2026-11-24T12:00:00Z";

/// Everything a developer can switch on, for tree walks.
pub fn trigger_everything(config: &mut Config) {
    config.imds.tags_in_metadata = true;
    let events = &mut config.identities[0].events;
    events.spot_action = Some("terminate".to_string());
    events.spot_time = Some(SPOT_TIME.to_string());
    events.rebalance_notice_time = Some("2026-11-24T11:58:00Z".to_string());
    events.lifecycle_state = Some("InService".to_string());
    events.maintenance = vec![maintenance()];
}

fn maintenance() -> MaintenanceEvent {
    MaintenanceEvent {
        code: "system-reboot".to_string(),
        description: "scheduled reboot".to_string(),
        event_id: "instance-event-0d59937288b749b32".to_string(),
        not_before: "21 Jan 2027 09:00:43 GMT".to_string(),
        not_after: "21 Jan 2027 09:17:23 GMT".to_string(),
        not_before_deadline: None,
        state: "active".to_string(),
    }
}

async fn is_404(imds: &Imds, path: &str) {
    imds.get(path)
        .await
        .assert_error(StatusCode::NOT_FOUND, path);
}

#[tokio::test]
async fn case_28_tags_absent_when_off_and_listed_when_on() {
    let imds = Imds::new();
    assert!(!imds.text("/latest/meta-data/").await.contains("tags/"));
    for path in [
        "/latest/meta-data/tags/",
        "/latest/meta-data/tags/instance/",
        "/latest/meta-data/tags/instance/Name",
    ] {
        is_404(&imds, path).await;
    }
    imds.update(|config| config.imds.tags_in_metadata = true);
    assert!(imds.text("/latest/meta-data/").await.contains("\ntags/"));
    assert_eq!(imds.text("/latest/meta-data/tags/").await, "instance/");
    assert_eq!(
        imds.text("/latest/meta-data/tags/instance/").await,
        "Environment\nName"
    );
    assert_eq!(
        imds.text("/latest/meta-data/tags/instance/Name").await,
        identity(0).tags["Name"].as_str()
    );
    is_404(&imds, "/latest/meta-data/tags/instance/Missing").await;
}

#[tokio::test]
async fn case_28_tags_ec2_cannot_serve_are_left_out() {
    let imds = Imds::with(|config| {
        config.imds.tags_in_metadata = true;
        let tags = &mut config.identities[0].tags;
        for key in ["team/owner", "has space", "..", "cost-center:id@x"] {
            tags.insert(key.to_string(), "v".to_string());
        }
    });
    assert_eq!(
        imds.text("/latest/meta-data/tags/instance/").await,
        "Environment\nName\ncost-center:id@x"
    );
    assert_eq!(
        imds.text("/latest/meta-data/tags/instance/cost-center:id@x")
            .await,
        "v"
    );
}

#[tokio::test]
async fn case_29_spot_instance_action_appears_when_triggered() {
    let imds = Imds::new();
    for path in [
        "/latest/meta-data/spot/instance-action",
        "/latest/meta-data/spot/termination-time",
    ] {
        is_404(&imds, path).await;
    }
    imds.update(|config| {
        let events = &mut config.identities[0].events;
        events.spot_action = Some("stop".to_string());
        events.spot_time = Some(SPOT_TIME.to_string());
    });
    let action = imds.get("/latest/meta-data/spot/instance-action").await;
    action.assert_ok("spot/instance-action");
    let json = action.json();
    assert_eq!(json["action"], "stop");
    assert_eq!(json["time"], SPOT_TIME);
    assert_eq!(
        imds.text("/latest/meta-data/spot/termination-time").await,
        SPOT_TIME
    );
    assert_eq!(
        imds.text("/latest/meta-data/spot/").await,
        "instance-action\ntermination-time"
    );
}

#[tokio::test]
async fn case_30_rebalance_recommendation_404_until_triggered() {
    let imds = Imds::new();
    is_404(&imds, "/latest/meta-data/events/recommendations/rebalance").await;
    imds.update(|config| {
        config.identities[0].events.rebalance_notice_time = Some(SPOT_TIME.to_string());
    });
    let answer = imds
        .get("/latest/meta-data/events/recommendations/rebalance")
        .await;
    answer.assert_ok("rebalance");
    assert_eq!(answer.json()["noticeTime"], SPOT_TIME);
}

#[tokio::test]
async fn case_31_scheduled_events_empty_until_triggered() {
    let imds = Imds::new();
    let path = "/latest/meta-data/events/maintenance/scheduled";
    assert_eq!(imds.text(path).await, "[]");
    assert_eq!(
        imds.text("/latest/meta-data/events/maintenance/history")
            .await,
        "[]"
    );
    imds.update(|config| config.identities[0].events.maintenance = vec![maintenance()]);
    let answer = imds.get(path).await;
    answer.assert_ok("scheduled");
    let json = answer.json();
    let events = json.as_array().expect("an array");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["Code"], "system-reboot");
    assert_eq!(events[0]["EventId"], "instance-event-0d59937288b749b32");
    assert_eq!(events[0]["State"], "active");
    assert_eq!(events[0]["NotBefore"], "21 Jan 2027 09:00:43 GMT");
}

#[tokio::test]
async fn case_32_autoscaling_state_404_outside_an_asg() {
    let imds = Imds::new();
    assert!(!imds
        .text("/latest/meta-data/")
        .await
        .contains("autoscaling/"));
    is_404(
        &imds,
        "/latest/meta-data/autoscaling/target-lifecycle-state",
    )
    .await;
    imds.update(|config| {
        config.identities[0].events.lifecycle_state = Some("Terminated".to_string());
    });
    assert_eq!(
        imds.text("/latest/meta-data/autoscaling/target-lifecycle-state")
            .await,
        "Terminated"
    );
}
