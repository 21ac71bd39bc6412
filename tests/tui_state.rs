//! Dashboard action sequences change the state, the configuration file, and the very
//! next answer of a real broker router built over the same configuration store.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use imds_spoof::app::{
    App, ContainerRow, Effect, Event, Part, PartState, SessionUpdate, SettingRow, Tab,
};
use imds_spoof::broker::{
    router, AccessPolicy, BrokerState, CallerDirectory, CallerInfo, CALLER_HEADER, SECRET_HEADER,
};
use imds_spoof::config::{ConfigStore, ContainerFacts};
use imds_spoof::imds::signing::IdentitySigner;
use imds_spoof::provider::BuiltinProvider;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::OffsetDateTime;
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    broker: Arc<BrokerState>,
    app: App,
}

fn fixture() -> Fixture {
    fixture_behind(AccessPolicy::Loopback {
        listen: "127.0.0.1:1338".parse().unwrap(),
    })
}

/// A broker behind `access`, whose callers the [`Engine`] names.
fn fixture_behind(access: AccessPolicy) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let store = ConfigStore::from_file(&path, None).unwrap();
    let signer = Arc::new(IdentitySigner::load_or_create(dir.path()).unwrap());
    let provider = Arc::new(BuiltinProvider::new(store.clone(), signer));
    let mut broker = BrokerState::new(store.clone(), provider, access);
    broker.callers = Some(Arc::new(Engine));
    let broker = Arc::new(broker);
    let app = App::new(store, OffsetDateTime::now_utc());
    Fixture {
        _dir: dir,
        path,
        broker,
        app,
    }
}

impl Fixture {
    /// One request through the real router, as the next SDK call would make it.
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = router(self.broker.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn press(&mut self, code: KeyCode) {
        self.app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    /// The Settings pane with the cursor on `row`, found by name: adding a row elsewhere
    /// does not move what a test acts on.
    fn setting(&mut self, row: SettingRow) {
        self.keys("4");
        for _ in SettingRow::ALL {
            self.keys("k");
        }
        let index = SettingRow::ALL
            .iter()
            .position(|known| *known == row)
            .expect("a settings row");
        for _ in 0..index {
            self.keys("j");
        }
    }

    /// Opens the editor on the focused row, replaces its text with `text` and submits it.
    fn type_value(&mut self, text: &str) {
        self.press(KeyCode::Enter);
        self.ctrl('u');
        self.keys(text);
        self.press(KeyCode::Enter);
    }

    fn ctrl(&mut self, c: char) {
        self.app
            .handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    }

    fn file(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }

    fn credentials_path(&self) -> String {
        let role = self.app.config().active().unwrap().role.clone().unwrap();
        format!("/latest/meta-data/iam/security-credentials/{}", role.name)
    }
}

/// The container the fake engine knows: labelled for the worker identity.
const BILLING: &str = "billing-1";
const BILLING_IP: &str = "169.254.0.7";
const PROXY_SECRET: &str = "per-run-secret-for-the-state-tests";

/// The Docker side as the broker sees it: who holds a caller's address.
struct Engine;

impl CallerDirectory for Engine {
    fn resolve(
        &self,
        ip: IpAddr,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = CallerInfo> + Send + '_>> {
        let info = if ip.to_string() == BILLING_IP {
            CallerInfo::Container {
                name: BILLING.to_string(),
                facts: billing_facts(),
            }
        } else {
            CallerInfo::NotAContainer
        };
        Box::pin(std::future::ready(info))
    }
}

fn billing_facts() -> ContainerFacts {
    ContainerFacts {
        name: Some(BILLING.to_string()),
        compose_service: Some("billing".to_string()),
        identity_label: Some("worker".to_string()),
    }
}

impl Fixture {
    /// A request from the billing container, through the proxy, as its next SDK call.
    async fn get_from_billing(&self, path: &str) -> String {
        let request = Request::get(path)
            .header("host", "169.254.169.254")
            .header(SECRET_HEADER, PROXY_SECRET)
            .header(CALLER_HEADER, BILLING_IP)
            .body(Body::empty())
            .unwrap();
        let response = router(self.broker.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8_lossy(&body).into_owned()
    }

    /// The session lists the billing container, attached to the network.
    fn list_billing(&mut self) {
        let row = ContainerRow {
            id: "0123456789ab".to_string(),
            name: BILLING.to_string(),
            image: "python:3.12-slim".to_string(),
            running: true,
            ip_on_network: BILLING_IP.parse().ok(),
            identity_label: Some("worker".to_string()),
            compose_service: Some("billing".to_string()),
        };
        self.app
            .handle(Event::Session(SessionUpdate::Containers(vec![row])));
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {body}"))
}

#[tokio::test]
async fn editing_the_instance_id_changes_the_next_answer_and_the_file() {
    let mut f = fixture();
    assert_eq!(
        f.get("/latest/meta-data/instance-id").await.1,
        "i-0123456789abcdef0"
    );
    f.keys("2"); // identity pane, the list has the focus
    assert_eq!(f.app.tab(), Tab::Identity);
    f.keys("l"); // to the fields: the first is the name
    f.keys("j");
    f.press(KeyCode::Enter);
    assert_eq!(f.app.input().unwrap().text(), "i-0123456789abcdef0");
    f.ctrl('u');
    f.keys("i-0aaaaaaaaaaaaaaa1");
    f.press(KeyCode::Enter);
    assert!(f.app.input().is_none(), "the value was accepted");
    assert_eq!(
        f.app.config().active().unwrap().instance_id,
        "i-0aaaaaaaaaaaaaaa1"
    );
    assert_eq!(
        f.get("/latest/meta-data/instance-id").await,
        (StatusCode::OK, "i-0aaaaaaaaaaaaaaa1".to_string())
    );
    let text = f.file();
    assert!(text.contains("instance_id = \"i-0aaaaaaaaaaaaaaa1\""));
    assert!(text.contains("# HttpPutResponseHopLimit."), "comments kept");
    // A restart reads the same file.
    let reopened = ConfigStore::from_file(&f.path, None).unwrap();
    assert_eq!(
        reopened.current().active().unwrap().instance_id,
        "i-0aaaaaaaaaaaaaaa1"
    );
}

#[tokio::test]
async fn an_invalid_value_is_refused_and_nothing_changes() {
    let mut f = fixture();
    let before = f.file();
    f.keys("2lj");
    f.type_value("i-NOTHEX");
    let input = f.app.input().expect("the input stays open");
    assert!(
        input.error.as_deref().unwrap().contains("hex"),
        "{:?}",
        input.error
    );
    f.press(KeyCode::Esc);
    assert!(f.app.input().is_none());
    assert_eq!(f.file(), before);
    assert_eq!(
        f.get("/latest/meta-data/instance-id").await.1,
        "i-0123456789abcdef0"
    );
    // The zone must belong to the region.
    for _ in 0..5 {
        f.keys("j");
    }
    f.type_value("eu-west-1a");
    assert!(f
        .app
        .input()
        .unwrap()
        .error
        .as_deref()
        .unwrap()
        .contains("region us-east-1"));
}

#[tokio::test]
async fn switching_identity_answers_the_next_request_as_the_other_instance() {
    let mut f = fixture();
    f.keys("2j"); // the list has the focus: the next identity, worker
    f.keys("u");
    assert_eq!(f.app.config().active_identity, "worker");
    assert_eq!(
        f.get("/latest/meta-data/instance-id").await.1,
        "i-0fedcba9876543210"
    );
    assert_eq!(
        f.get("/latest/meta-data/placement/availability-zone")
            .await
            .1,
        "eu-west-1b"
    );
    assert!(f.file().contains("active_identity = \"worker\""));
}

#[test]
fn arrows_move_in_the_focused_half_and_h_l_move_the_focus() {
    let mut f = fixture();
    f.keys("2");
    assert_eq!(f.app.shown_identity().unwrap().name, "default");
    f.press(KeyCode::Down);
    assert_eq!(f.app.shown_identity().unwrap().name, "worker");
    f.press(KeyCode::Right); // to the fields: ↓ now moves the field, not the identity
    f.press(KeyCode::Down);
    assert_eq!(f.app.shown_identity().unwrap().name, "worker");
    f.press(KeyCode::Enter);
    assert_eq!(f.app.input().unwrap().prompt, "instance_id");
    f.press(KeyCode::Esc); // closes the input
    f.press(KeyCode::Esc); // back to the list
    f.keys("k");
    assert_eq!(f.app.shown_identity().unwrap().name, "default");
    // Both panes show the same identity; the credentials pane keeps its own focus.
    f.keys("3j");
    assert_eq!(f.app.shown_identity().unwrap().name, "worker");
    f.keys("2u"); // acts on the identity selected in the list
    assert_eq!(f.app.config().active_identity, "worker");
}

#[tokio::test]
async fn expire_now_serves_an_expiration_in_the_past() {
    let mut f = fixture();
    let path = f.credentials_path();
    let before = json(&f.get(&path).await.1);
    let expires = time::OffsetDateTime::parse(
        before["Expiration"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(expires > OffsetDateTime::now_utc());
    f.keys("3E");
    let (status, body) = f.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    let after = json(&body);
    let expired = time::OffsetDateTime::parse(
        after["Expiration"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(expired < OffsetDateTime::now_utc(), "{body}");
    assert_eq!(after["Code"], "Success");
}

#[tokio::test]
async fn rotate_serves_new_keys_and_drops_cached_credentials() {
    let mut f = fixture();
    let path = f.credentials_path();
    let old_key = json(&f.get(&path).await.1)["AccessKeyId"].clone();
    f.keys("3E"); // pinned in the past first: rotation must roll it again
    f.keys("r");
    assert!(f
        .app
        .take_effects()
        .contains(&Effect::ForgetCachedCredentials));
    let served = json(&f.get(&path).await.1);
    assert_ne!(served["AccessKeyId"], old_key);
    let config = f.app.config();
    let role = config.active().unwrap().role.as_ref().unwrap();
    let imds_spoof::config::CredentialSource::Static {
        access_key_id,
        expiration,
        ..
    } = &role.source
    else {
        panic!("still static");
    };
    assert_eq!(served["AccessKeyId"], access_key_id.as_str());
    assert!(expiration.is_none(), "rolling expiration again");
}

#[tokio::test]
async fn switching_the_credential_source_is_saved_and_served() {
    let mut f = fixture();
    let path = f.credentials_path();
    let untouched = f.file();
    f.keys("3s"); // the menu, on static: nothing changes until Enter
    assert_eq!(f.file(), untouched);
    f.keys("j"); // profile
    f.press(KeyCode::Enter);
    let config = f.app.config();
    let role = config.active().unwrap().role.as_ref().unwrap();
    assert!(matches!(
        role.source,
        imds_spoof::config::CredentialSource::Profile { .. }
    ));
    assert!(f.file().contains("source = \"profile\""));
    assert!(
        f.file().contains("ASIAIMDSSPOOFEXAMPLE"),
        "the static keys are kept for a switch back"
    );
    // Back to static: the same hand-set keys answer, not new random ones.
    f.keys("sk");
    f.press(KeyCode::Enter);
    let served = json(&f.get(&path).await.1);
    assert_eq!(served["AccessKeyId"], "ASIAIMDSSPOOFEXAMPLE");
    assert_eq!(
        served["SecretAccessKey"],
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    );
    // Esc closes the menu and changes nothing.
    let before = f.file();
    f.keys("sjj");
    f.press(KeyCode::Esc);
    assert_eq!(f.file(), before);
}

#[tokio::test]
async fn settings_change_the_protocol_at_once() {
    let mut f = fixture();
    assert_eq!(f.get("/latest/meta-data/ami-id").await.0, StatusCode::OK);
    f.setting(SettingRow::Tokens);
    f.press(KeyCode::Enter);
    assert_eq!(
        f.get("/latest/meta-data/ami-id").await.0,
        StatusCode::UNAUTHORIZED,
        "IMDSv1 refused once tokens are required"
    );
    assert!(f.file().contains("tokens = \"required\""));
    f.press(KeyCode::Enter);
    assert_eq!(f.get("/latest/meta-data/ami-id").await.0, StatusCode::OK);

    // Error rate 100%: every answer is the error status.
    f.setting(SettingRow::ErrorRate);
    f.type_value("100");
    assert_eq!(
        f.get("/latest/meta-data/ami-id").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    f.setting(SettingRow::ErrorStatus);
    f.keys("+"); // 500 -> 502
    assert_eq!(
        f.get("/latest/meta-data/ami-id").await.0,
        StatusCode::BAD_GATEWAY
    );
    f.setting(SettingRow::ErrorRate);
    f.type_value("0");
    assert_eq!(f.get("/latest/meta-data/ami-id").await.0, StatusCode::OK);
    assert!(f.app.config().faults.is_empty());

    // Throttling 100%: never a 429 (docs/protocol.md §3, case 56): the request gets no
    // answer at all (on a real connection, it is closed).
    f.setting(SettingRow::Throttling);
    f.keys("+");
    assert_eq!(f.app.config().faults.len(), 1);
    f.type_value("100");
    let throttled = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        f.get("/latest/meta-data/ami-id"),
    )
    .await;
    assert!(
        throttled.is_err(),
        "a throttled request was answered: {throttled:?}"
    );
}

#[tokio::test]
async fn doors_switch_off_and_faults_aim_at_one_door() {
    let mut f = fixture();
    f.setting(SettingRow::EcsDoor);
    f.press(KeyCode::Enter);
    assert!(!f.app.config().doors.ecs);
    assert!(f.file().contains("ecs = false"), "{}", f.file());
    assert!(
        f.file()
            .contains("# The container credential endpoints beside IMDS"),
        "comments kept"
    );
    // On loopback the path names the door: switched off, it knows no such path.
    assert_eq!(
        f.get("/v2/credentials/worker").await.0,
        StatusCode::NOT_FOUND
    );
    f.press(KeyCode::Enter);
    assert!(f.app.config().doors.ecs);

    // Faults for ECS only: IMDS keeps answering.
    f.setting(SettingRow::FaultDoor);
    f.press(KeyCode::Enter); // IMDS only
    f.press(KeyCode::Enter); // ECS only
    f.setting(SettingRow::ErrorRate);
    f.type_value("100");
    let faults = &f.app.config().faults;
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].door, Some(imds_spoof::config::Door::Ecs));
    assert!(f.file().contains("door = \"ecs\""), "{}", f.file());
    assert_eq!(f.get("/latest/meta-data/ami-id").await.0, StatusCode::OK);
}

#[tokio::test]
async fn events_are_triggered_and_cleared() {
    let mut f = fixture();
    let spot = "/latest/meta-data/spot/instance-action";
    assert_eq!(f.get(spot).await.0, StatusCode::NOT_FOUND);
    f.keys("5");
    f.press(KeyCode::Enter);
    let (status, body) = f.get(spot).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["action"], "terminate");
    f.press(KeyCode::Enter);
    assert_eq!(json(&f.get(spot).await.1)["action"], "stop");
    f.keys("x");
    assert_eq!(f.get(spot).await.0, StatusCode::NOT_FOUND);

    let rebalance = "/latest/meta-data/events/recommendations/rebalance";
    f.keys("j");
    f.press(KeyCode::Enter);
    assert!(json(&f.get(rebalance).await.1)["noticeTime"].is_string());

    let scheduled = "/latest/meta-data/events/maintenance/scheduled";
    f.keys("j");
    f.press(KeyCode::Enter);
    let events = json(&f.get(scheduled).await.1);
    assert_eq!(events[0]["Code"], "system-reboot");
    f.keys("x");
    assert_eq!(f.get(scheduled).await.1, "[]");

    let lifecycle = "/latest/meta-data/autoscaling/target-lifecycle-state";
    f.keys("j");
    f.press(KeyCode::Enter);
    assert_eq!(f.get(lifecycle).await.1, "InService");
    f.press(KeyCode::Enter);
    assert_eq!(f.get(lifecycle).await.1, "Standby");
}

#[tokio::test]
async fn identities_are_added_duplicated_and_deleted() {
    let mut f = fixture();
    f.keys("2n");
    f.press(KeyCode::Enter); // default name "identity"
    assert_eq!(f.app.config().identities.len(), 3);
    assert_eq!(f.app.shown_identity().unwrap().name, "identity");
    f.keys("D");
    f.press(KeyCode::Enter); // "identity-copy"
    let config = f.app.config();
    assert_eq!(config.identities.len(), 4);
    let copy = config.identity("identity-copy").unwrap();
    assert_ne!(
        copy.instance_id,
        config.identity("identity").unwrap().instance_id
    );
    // The copy answers once active.
    f.keys("u");
    assert_eq!(
        f.get("/latest/meta-data/instance-id").await.1,
        copy.instance_id
    );
    // The active identity cannot be deleted; another can, after confirmation.
    f.keys("x");
    assert!(f.app.message().unwrap().is_error);
    f.keys("k"); // the list still has the focus: back to "identity"
    f.keys("x");
    f.keys("y");
    assert!(f.app.config().identity("identity").is_none());
    assert!(ConfigStore::from_file(&f.path, None).is_ok());
}

#[tokio::test]
async fn the_request_table_filters_real_exchanges() {
    let mut f = fixture();
    for path in [
        "/latest/meta-data/instance-id",
        "/latest/meta-data/nothing-here",
        "/latest/meta-data/ami-id",
    ] {
        f.get(path).await;
    }
    for record in f.broker.recorder.snapshot() {
        f.app.push_exchange(record);
    }
    assert_eq!(f.app.exchanges().len(), 3);
    f.keys("/status:4xx");
    f.press(KeyCode::Enter);
    assert_eq!(f.app.exchanges().match_count(), 1);
    assert_eq!(
        f.app.exchanges().selected_record().unwrap().path,
        "/latest/meta-data/nothing-here"
    );
    f.press(KeyCode::Esc);
    assert_eq!(f.app.exchanges().match_count(), 3);
    f.keys("p");
    f.get("/latest/meta-data/hostname").await;
    for record in f.broker.recorder.snapshot() {
        f.app.push_exchange(record);
    }
    assert_eq!(f.app.exchanges().len(), 3, "paused");
    f.keys("p");
    assert_eq!(f.app.exchanges().len(), 4);
    assert_eq!(
        f.app.exchanges().selected_record().unwrap().path,
        "/latest/meta-data/hostname"
    );
    f.keys("c");
    assert!(f.app.exchanges().is_empty());
}

#[test]
fn quit_keys_end_the_dashboard() {
    let mut f = fixture();
    f.keys("q");
    assert!(f.app.should_quit());
    let mut f = fixture();
    f.ctrl('c');
    assert!(f.app.should_quit());
}

#[tokio::test]
async fn a_container_picks_another_identity_from_the_containers_pane() {
    let mut f = fixture_behind(AccessPolicy::Proxy {
        proxy_ip: None,
        secret: PROXY_SECRET.to_string(),
        host_ips: Vec::new(),
    });
    const WORKER: &str = "i-0fedcba9876543210";
    const DEFAULT: &str = "i-0123456789abcdef0";
    let instance_id = "/latest/meta-data/instance-id";
    assert_eq!(f.get_from_billing(instance_id).await, WORKER, "its label");

    f.keys("6");
    f.list_billing();
    f.keys("i"); // the picker opens on the identity it plays now: worker
    f.keys("k"); // default
    f.press(KeyCode::Enter);
    let message = f.app.message().unwrap().text.clone();
    assert!(
        message.contains("billing-1 plays default (rule)"),
        "{message}"
    );
    assert_eq!(f.get_from_billing(instance_id).await, DEFAULT, "the rule");
    let text = f.file();
    assert!(
        text.contains("[[container]]\nname = \"billing-1\"\nidentity = \"default\""),
        "{text}"
    );
    assert!(text.contains("# HttpPutResponseHopLimit."), "comments kept");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&f.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A restart reads the rule from the same file.
    let reopened = ConfigStore::from_file(&f.path, None).unwrap();
    assert_eq!(
        reopened.current().identity_for(&billing_facts()).0,
        "default"
    );

    f.keys("i"); // on default now; the last row clears the rule
    f.keys("jj");
    f.press(KeyCode::Enter);
    let message = f.app.message().unwrap().text.clone();
    assert!(message.contains("plays worker (label)"), "{message}");
    assert_eq!(
        f.get_from_billing(instance_id).await,
        WORKER,
        "the label again"
    );
    let text = f.file();
    assert!(
        !text.lines().any(|line| line.trim() == "[[container]]"),
        "{text}"
    );
}

#[test]
fn esc_closes_the_picker_and_nothing_changes() {
    let mut f = fixture();
    let before = f.file();
    f.keys("6");
    f.list_billing();
    f.keys("ik");
    f.press(KeyCode::Esc);
    assert_eq!(f.file(), before);
    // Back in the list: a attaches or detaches again (a running one after a yes).
    f.keys("a");
    assert!(f.app.take_effects().is_empty(), "detaching asks first");
    f.keys("y");
    assert!(f
        .app
        .take_effects()
        .iter()
        .any(|effect| matches!(effect, Effect::Detach { name, .. } if name == BILLING)));
}

#[test]
fn stopping_a_part_asks_first_and_the_footer_says_when_it_stopped() {
    let mut f = fixture();
    let up = |part| Event::Session(SessionUpdate::Part(part, PartState::Up("up".into())));
    f.app.handle(up(Part::Proxy));
    f.app.handle(up(Part::Broker));
    f.keys("P");
    assert!(f.app.take_effects().is_empty(), "P on a running proxy asks");
    f.keys("n");
    assert!(f.app.take_effects().is_empty(), "n keeps it running");
    f.keys("Py");
    assert_eq!(f.app.take_effects(), [Effect::StopPart(Part::Proxy)]);
    assert_eq!(f.app.message().unwrap().text, "stopping the proxy…");
    f.app.handle(Event::Session(SessionUpdate::Part(
        Part::Proxy,
        PartState::Stopped,
    )));
    assert_eq!(f.app.message().unwrap().text, "proxy stopped");
    // X asks too; starting never does.
    f.keys("X");
    assert!(f.app.take_effects().is_empty());
    f.keys("y");
    assert_eq!(f.app.take_effects(), [Effect::StopAll]);
    f.keys("S");
    assert_eq!(f.app.take_effects(), [Effect::StartAll]);
}

#[test]
fn the_filter_applies_as_it_is_typed_and_esc_clears_it() {
    let mut f = fixture();
    f.keys("/status:5xx");
    assert!(f.app.input().is_some(), "still typing");
    assert_eq!(f.app.exchanges().filter().text(), "status:5xx");
    f.keys("q"); // typed into the filter, not quitting
    assert!(!f.app.should_quit());
    assert!(
        f.app.input().unwrap().error.is_some(),
        "status:5xxq is refused as typed"
    );
    f.press(KeyCode::Backspace);
    assert!(f.app.input().unwrap().error.is_none());
    f.press(KeyCode::Esc);
    assert!(f.app.input().is_none());
    assert!(f.app.exchanges().filter().is_empty());
}

#[test]
fn a_label_naming_no_identity_is_said_not_silently_passed_over() {
    let mut f = fixture();
    let row = ContainerRow {
        id: "0123456789ac".to_string(),
        name: "batch-1".to_string(),
        image: "python:3.12-slim".to_string(),
        running: true,
        ip_on_network: "169.254.0.9".parse().ok(),
        identity_label: Some("batch".to_string()),
        compose_service: None,
    };
    f.app
        .handle(Event::Session(SessionUpdate::Containers(vec![row.clone()])));
    let message = f.app.message().unwrap();
    assert!(message.sticky && message.is_error, "{message:?}");
    assert!(
        message
            .text
            .contains("batch-1's label names identity \"batch\", which does not exist")
            && message.text.contains("plays default (active)"),
        "{}",
        message.text
    );
    // Said once, not on every list.
    f.keys("1");
    f.app
        .handle(Event::Session(SessionUpdate::Containers(vec![row])));
    assert!(f.app.message().is_none());
}

fn click(app: &mut App, column: u16, row: u16) {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    app.handle(Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }));
}

#[test]
fn a_click_selects_a_row_and_a_click_on_the_selected_row_opens_it() {
    let mut f = fixture();
    f.app.handle(Event::Resize(120, 40));
    // Containers: the body starts under the status bar (4 rows) and the tabs (1); the
    // table's first row under its border and header.
    f.keys("6");
    let rows = ["one", "two", "three"].map(|name| ContainerRow {
        id: format!("{name:0>12}"),
        name: name.to_string(),
        image: "python:3.12-slim".to_string(),
        running: true,
        ip_on_network: None,
        identity_label: None,
        compose_service: None,
    });
    f.app
        .handle(Event::Session(SessionUpdate::Containers(rows.to_vec())));
    let first = 4 + 1 + 2;
    click(&mut f.app, 10, first + 2);
    assert!(
        f.app.take_effects().is_empty(),
        "a first click only selects"
    );
    click(&mut f.app, 10, first + 2);
    assert_eq!(
        f.app.contexts().first(),
        Some(&imds_spoof::app::Context::ContainerView),
        "a click on the selected row opens it"
    );
    f.press(KeyCode::Esc);
    // Settings: the tokens row toggles on the second click.
    f.keys("4");
    let tokens = imds_spoof::app::SettingRow::ALL
        .iter()
        .position(|row| *row == SettingRow::Tokens)
        .unwrap() as u16;
    let before = f.file();
    click(&mut f.app, 10, 4 + 1 + 1 + tokens);
    assert_eq!(f.file(), before, "a first click only selects");
    click(&mut f.app, 10, 4 + 1 + 1 + tokens);
    assert!(f.file().contains("tokens = \"required\""), "{}", f.file());
}
