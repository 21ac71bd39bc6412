//! Every pane drawn at 80x24 and 160x48 from states built by hand (fixed clock, fixed
//! exchanges): empty, busy (1,000 exchanges) and error states. The snapshots live in
//! tests/snapshots/; CI must not write new ones (CI=true makes missing ones fail).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use imds_spoof::app::{
    draw, Action, App, ContainerRow, Event, Part, PartState, SessionUpdate, Tab,
};
use imds_spoof::broker::{ExchangeRecord, HeaderList, ImdsVersion};
use imds_spoof::config::{
    parse, ConfigStore, ContainerRule, CredentialSource, Fault, FaultKind, IdentityOrigin, Role,
    TokenMode, SAMPLE_CONFIG,
};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use ratatui::Terminal;
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-24 12:00:00 UTC);
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
const CREDENTIALS: &str = "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2026-11-24T11:00:00Z\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAIMDSSPOOFEXAMPLE\",\n  \"SecretAccessKey\" : \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\n  \"Token\" : \"IQoJb3JpZ2luX2VjEXAMPLETOKENimdsSpoofLocalOnly\",\n  \"Expiration\" : \"2026-11-24T17:00:00Z\"\n}";

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, app)).unwrap();
    terminal.backend().to_string()
}

fn sample_store() -> ConfigStore {
    ConfigStore::in_memory(parse(Path::new("sample"), SAMPLE_CONFIG).unwrap())
}

fn app_with(store: ConfigStore, width: u16, height: u16) -> App {
    let mut app = App::new(store, NOW);
    app.handle(Event::Resize(width, height));
    app.handle(Event::Tick(NOW));
    app
}

fn session(app: &mut App, update: SessionUpdate) {
    app.handle(Event::Session(update));
}

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Exchange `id` of a deterministic mix: paths, callers, versions, statuses.
fn exchange(id: u64) -> ExchangeRecord {
    const PATHS: [&str; 6] = [
        "/latest/meta-data/instance-id",
        "/latest/api/token",
        "/latest/meta-data/placement/availability-zone",
        "/latest/meta-data/iam/security-credentials/imds-spoof-dev-role",
        "/latest/dynamic/instance-identity/document",
        "/latest/meta-data/tags/instance/Name",
    ];
    let path = PATHS[(id % 6) as usize];
    let millis = id * 37;
    let time = format!(
        "2026-11-24T11:{:02}:{:02}.{:03}Z",
        (millis / 60_000) % 60,
        (millis / 1_000) % 60,
        millis % 1_000
    );
    let token = path.ends_with("/api/token");
    let status = match id % 50 {
        7 => 404,
        13 => 401,
        29 => 500,
        41 => 0,
        _ => 200,
    };
    let container = match id % 3 {
        0 => Some("web-1".to_string()),
        1 => Some("worker-2".to_string()),
        _ => None,
    };
    let body = match (status, path) {
        (200, p) if p.contains("security-credentials") => CREDENTIALS.to_string(),
        (200, _) if token => "AQAEAFakeTokenValueForTheSnapshotTestsOnly0123==".to_string(),
        (200, p) if p.ends_with("instance-id") => "i-0123456789abcdef0".to_string(),
        (200, p) if p.ends_with("document") => {
            "{\"accountId\":\"123456789012\",\"region\":\"us-east-1\",\"instanceId\":\"i-0123456789abcdef0\"}".to_string()
        }
        (200, _) => "us-east-1a".to_string(),
        _ => String::new(),
    };
    let mut request_headers = vec![
        ("host".to_string(), "169.254.169.254".to_string()),
        (
            "user-agent".to_string(),
            "aws-sdk-rust/1.3 os/linux".to_string(),
        ),
    ];
    if token {
        request_headers.push((
            "x-aws-ec2-metadata-token-ttl-seconds".to_string(),
            "21600".to_string(),
        ));
    } else if id.is_multiple_of(2) {
        request_headers.push((
            "x-aws-ec2-metadata-token".to_string(),
            "AQAEAFakeTokenValueForTheSnapshotTestsOnly0123==".to_string(),
        ));
    }
    ExchangeRecord {
        id,
        time,
        caller_ip: Some(IpAddr::V4(Ipv4Addr::new(169, 254, 0, 2 + (id % 3) as u8))),
        caller_container: container,
        identity: if id.is_multiple_of(4) || id.is_multiple_of(5) {
            "worker"
        } else {
            "default"
        }
        .to_string(),
        identity_origin: if id.is_multiple_of(4) {
            IdentityOrigin::Label
        } else if id.is_multiple_of(5) {
            IdentityOrigin::Rule
        } else {
            IdentityOrigin::Active
        },
        door: imds_spoof::config::Door::Imds,
        method: if token { "PUT" } else { "GET" }.into(),
        path: path.to_string(),
        version: if token {
            ImdsVersion::TokenRequest
        } else if id.is_multiple_of(2) {
            ImdsVersion::V2
        } else {
            ImdsVersion::V1
        },
        status,
        latency_us: 90 + (id * 7919) % 4_000,
        request_headers: request_headers.into(),
        response_headers: if status == 0 {
            HeaderList::default()
        } else {
            vec![
                ("server".to_string(), "EC2ws".to_string()),
                ("content-type".to_string(), "text/plain".to_string()),
                ("content-length".to_string(), body.len().to_string()),
            ]
            .into()
        },
        response_body: body.into(),
        body_truncated: false,
        provider_error: (status == 500).then(|| {
            "credentials from command `aws configure export-credentials`: exit status 255"
                .to_string()
        }),
        fault: None,
    }
}

fn build_empty(width: u16, height: u16) -> App {
    let mut app = app_with(sample_store(), width, height);
    for part in Part::ALL {
        session(&mut app, SessionUpdate::Part(part, PartState::Stopped));
    }
    app
}

fn build_busy(width: u16, height: u16) -> App {
    let store = sample_store();
    let mut config = (*store.current()).clone();
    config.imds.tokens = TokenMode::Required;
    config.faults.push(Fault {
        door: None,
        path_prefix: String::new(),
        probability: 1.0,
        kind: FaultKind::Latency { ms: 1500 },
    });
    config.faults.push(Fault {
        door: None,
        path_prefix: "/latest/meta-data/iam/".into(),
        probability: 0.5,
        kind: FaultKind::Status { status: 503 },
    });
    // app-1 by name, app-4 by its compose service: both play the worker.
    config.container_rules.push(ContainerRule {
        name: Some("app-1".into()),
        compose_service: None,
        identity: "worker".into(),
    });
    config.container_rules.push(ContainerRule {
        name: None,
        compose_service: Some("billing".into()),
        identity: "worker".into(),
    });
    let events = &mut config.identities[0].events;
    events.spot_action = Some("terminate".into());
    events.spot_time = Some("2026-11-24T12:02:00Z".into());
    events.lifecycle_state = Some("InService".into());
    // Expired a minute before the fixed clock, as "expire now" leaves it.
    if let Some(Role {
        source: CredentialSource::Static { expiration, .. },
        ..
    }) = &mut config.identities[0].role
    {
        *expiration = Some("2026-11-24T11:59:00Z".into());
    }
    store.replace(config);
    let mut app = app_with(store, width, height);
    session(
        &mut app,
        SessionUpdate::Part(
            Part::Network,
            PartState::Up("imds-spoof 169.254.0.0/16".into()),
        ),
    );
    session(
        &mut app,
        SessionUpdate::Part(Part::Broker, PartState::Up("169.254.0.1:1338".into())),
    );
    session(
        &mut app,
        SessionUpdate::Part(
            Part::Proxy,
            PartState::Starting("pulling nginx:1.27.5-alpine".into()),
        ),
    );
    session(
        &mut app,
        SessionUpdate::Pull {
            image: "nginx:1.27.5-alpine".into(),
            current: 12_345_678,
            total: 27_000_000,
        },
    );
    session(
        &mut app,
        SessionUpdate::BrokerAddress(Some("169.254.0.1:1338".parse().unwrap())),
    );
    let containers = (1..=6)
        .map(|n| ContainerRow {
            id: format!("{n:012x}"),
            name: format!("app-{n}"),
            image: if n % 2 == 0 {
                "python:3.12-slim"
            } else {
                "amazon/aws-cli:2.17"
            }
            .into(),
            running: n != 6,
            ip_on_network: (n % 3 != 0).then(|| Ipv4Addr::new(169, 254, 0, 1 + n as u8)),
            identity_label: (n == 2).then(|| "worker".to_string()),
            compose_service: (n == 4).then(|| "billing".to_string()),
        })
        .collect();
    session(&mut app, SessionUpdate::Containers(containers));
    for id in 1..=999 {
        app.push_exchange(Arc::new(exchange(id)));
    }
    // The newest: a credentials document, to show masking and pretty JSON.
    let mut newest = exchange(1000);
    newest.path = "/latest/meta-data/iam/security-credentials/imds-spoof-dev-role".into();
    newest.status = 200;
    newest.response_body = CREDENTIALS.into();
    newest.provider_error = None;
    app.push_exchange(Arc::new(newest));
    app
}

/// A file-backed store whose file turned invalid after loading, at a fixed relative path
/// (tests run in the package directory) so the snapshot does not depend on the machine.
fn broken_store(name: &str) -> ConfigStore {
    let dir = Path::new("target").join("tui-snapshots").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    let store = ConfigStore::from_file(&path, None).unwrap();
    std::fs::write(
        &path,
        SAMPLE_CONFIG.replace("hop_limit = 2", "hop_limit = \"two\""),
    )
    .unwrap();
    assert!(store.reload().is_err());
    store
}

fn build_error(name: &str, width: u16, height: u16) -> App {
    let mut app = app_with(broken_store(name), width, height);
    let docker = "Docker is not running or not reachable at unix:///var/run/docker.sock: connection refused. Start Docker (for example `sudo systemctl start docker`)";
    session(
        &mut app,
        SessionUpdate::Part(Part::Network, PartState::Unavailable(docker.into())),
    );
    session(
        &mut app,
        SessionUpdate::Part(Part::Proxy, PartState::Unavailable(docker.into())),
    );
    session(
        &mut app,
        SessionUpdate::Part(
            Part::Broker,
            PartState::Failed("cannot listen on 127.0.0.1:1338: address in use (another imds-spoof? set [broker] port)".into()),
        ),
    );
    for id in [29, 79, 129] {
        app.push_exchange(Arc::new(exchange(id)));
    }
    session(
        &mut app,
        SessionUpdate::Failed("attach app-3: no such container".into()),
    );
    app
}

fn snapshot_tabs(state: &str, build: &dyn Fn(u16, u16) -> App) {
    for (width, height) in SIZES {
        for tab in Tab::ALL {
            let mut app = build(width, height);
            app.update(Action::GoTab(tab));
            let name = format!("{state}_{}_{width}x{height}", tab.title().to_lowercase());
            insta::assert_snapshot!(name, render(&app, width, height));
        }
    }
}

#[test]
fn empty_state() {
    snapshot_tabs("empty", &build_empty);
}

#[test]
fn busy_state() {
    snapshot_tabs("busy", &build_busy);
}

#[test]
fn error_state() {
    snapshot_tabs("error", &|width, height| {
        build_error(&format!("error-{width}"), width, height)
    });
}

#[test]
fn help_lists_every_key() {
    for (width, height) in SIZES {
        let mut app = build_empty(width, height);
        key(&mut app, KeyCode::Char('?'));
        insta::assert_snapshot!(
            format!("help_{width}x{height}"),
            render(&app, width, height)
        );
    }
    let text = render(&build_empty(160, 48), 160, 48);
    assert!(!text.contains("Keys (?"), "help closed by default");
}

#[test]
fn focused_detail_and_revealed_secrets() {
    for (width, height) in SIZES {
        let mut app = build_busy(width, height);
        key(&mut app, KeyCode::Enter);
        let masked = render(&app, width, height);
        assert!(
            !masked.contains("wJalrXUtnFEMI"),
            "secret shown while masked"
        );
        insta::assert_snapshot!(format!("busy_detail_{width}x{height}"), masked);
        key(&mut app, KeyCode::Char('v'));
        if height < 30 {
            // The body is below the fold on a small screen.
            key(&mut app, KeyCode::PageDown);
        }
        let revealed = render(&app, width, height);
        assert!(
            revealed.contains("wJalrXUtnFEMI"),
            "reveal shows the secret"
        );
        insta::assert_snapshot!(format!("busy_detail_revealed_{width}x{height}"), revealed);
    }
}

#[test]
fn filtered_and_paused_table() {
    let mut app = build_busy(160, 48);
    key(&mut app, KeyCode::Char('/'));
    for c in "status:5xx".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('p'));
    app.push_exchange(Arc::new(exchange(1001)));
    insta::assert_snapshot!("busy_filtered_paused_160x48", render(&app, 160, 48));
}

#[test]
fn a_refused_edit_shows_why() {
    for (width, height) in SIZES {
        let mut app = build_error(&format!("refused-{width}"), width, height);
        key(&mut app, KeyCode::Char('2'));
        key(&mut app, KeyCode::Char('l'));
        key(&mut app, KeyCode::Char('j'));
        key(&mut app, KeyCode::Enter);
        app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        for c in "i-NOTHEX".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        insta::assert_snapshot!(
            format!("error_refused_edit_{width}x{height}"),
            render(&app, width, height)
        );
    }
}

#[test]
fn the_focused_half_of_the_identity_pane_is_marked() {
    for (width, height) in SIZES {
        let mut app = build_empty(width, height);
        for c in "2jlj".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        insta::assert_snapshot!(
            format!("identity_fields_focused_{width}x{height}"),
            render(&app, width, height)
        );
    }
}

#[test]
fn rows_are_coloured_by_status() {
    let app = build_busy(160, 48);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    terminal.draw(|frame| draw(frame, &app)).unwrap();
    let buffer = terminal.backend().buffer();
    let colour_of = |status: &str| {
        (7..48u16).find_map(|y| {
            let line: Vec<String> = (0..30u16)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            // The status column follows the marker and the time.
            let text = line.concat();
            let at = text.find(&format!(" {status} "))?;
            let column = text[..at].chars().count() as u16 + 1;
            Some(buffer[(column, y)].fg)
        })
    };
    assert_eq!(colour_of("200"), Some(Color::Green));
    assert_eq!(colour_of("401"), Some(Color::Yellow));
    assert_eq!(colour_of("500"), Some(Color::Red));
    assert_eq!(colour_of("---"), Some(Color::Magenta));
}

#[test]
fn the_identity_picker_marks_its_choice() {
    for (width, height) in SIZES {
        let mut app = build_busy(width, height);
        for c in "6ji".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Down);
        let text = render(&app, width, height);
        assert!(text.contains("Identity for app-2"), "{text}");
        assert!(
            text.contains("▶ no rule: label or active identity"),
            "{text}"
        );
        insta::assert_snapshot!(format!("containers_picker_{width}x{height}"), text);
    }
}

#[test]
fn a_caller_that_cannot_be_named_stays_in_the_footer_until_a_key() {
    let warning = "caller 169.254.0.9 on the network cannot be named (Docker is not reachable): answered as [containers] unresolved says";
    for (width, height) in SIZES {
        let mut app = build_busy(width, height);
        session(&mut app, SessionUpdate::Warning(warning.into()));
        // Long after an ordinary message would have faded.
        app.handle(Event::Tick(NOW + time::Duration::minutes(5)));
        let text = render(&app, width, height);
        assert!(text.contains("⚠ caller 169.254.0.9"), "{text}");
        insta::assert_snapshot!(format!("unresolved_warning_{width}x{height}"), text);
        key(&mut app, KeyCode::Char('j'));
        assert!(!render(&app, width, height).contains("⚠ caller"));
    }
}

#[test]
fn the_credentials_pane_shows_the_background_refresh() {
    use imds_spoof::provider::{RefreshState, RefreshStates};
    let mut app = build_busy(160, 48);
    key(&mut app, KeyCode::Char('3'));
    let failed = RefreshStates::from([(
        "default".to_string(),
        RefreshState::Failed {
            reason: "aws exited with status 255".into(),
            failed_at: NOW,
            retry_at: NOW + time::Duration::seconds(30),
            serving_until: Some(NOW + time::Duration::minutes(40)),
        },
    )]);
    session(&mut app, SessionUpdate::CredentialRefresh(failed));
    let text = render(&app, 160, 48);
    assert!(
        text.contains("refresh FAILED: aws exited with status 255; next try 12:00:30"),
        "{text}"
    );
    assert!(
        text.contains("the previous keys serve until 12:40:00"),
        "{text}"
    );
    let fresh = RefreshStates::from([(
        "default".to_string(),
        RefreshState::Fresh {
            expiration: NOW + time::Duration::hours(1),
            refresh_at: NOW + time::Duration::minutes(55),
        },
    )]);
    session(&mut app, SessionUpdate::CredentialRefresh(fresh));
    let text = render(&app, 160, 48);
    assert!(
        text.contains("refresh: fresh until 13:00:00, fetched again at 12:55:00"),
        "{text}"
    );
}

#[test]
fn a_request_log_that_fell_behind_says_so_in_the_status_bar() {
    let mut app = build_busy(160, 48);
    assert!(!render(&app, 160, 48).contains("request log dropped"));
    app.set_log_dropped(42);
    let text = render(&app, 160, 48);
    assert!(text.contains("request log dropped 42"), "{text}");
}

/// One exchange for the readiness view: `caller` asks `path`, with a token or without.
fn readiness_exchange(
    id: u64,
    caller: &str,
    agent: &str,
    path: &str,
    kind: ImdsVersion,
) -> ExchangeRecord {
    let mut request_headers = vec![("user-agent".to_string(), agent.to_string())];
    if kind == ImdsVersion::V2 {
        request_headers.push((
            "x-aws-ec2-metadata-token".to_string(),
            "AQAEAFakeTokenValueForTheSnapshotTestsOnly0123==".to_string(),
        ));
    }
    let token = kind == ImdsVersion::TokenRequest;
    ExchangeRecord {
        id,
        time: format!("2026-11-24T11:{:02}:{:02}.000Z", id / 60, id % 60),
        caller_ip: Some(IpAddr::V4(Ipv4Addr::new(172, 30, 0, caller.len() as u8))),
        caller_container: Some(caller.to_string()),
        identity: "default".to_string(),
        identity_origin: IdentityOrigin::Active,
        door: imds_spoof::config::Door::Imds,
        method: if token { "PUT" } else { "GET" }.into(),
        path: path.to_string(),
        version: kind,
        status: 200,
        latency_us: 120,
        request_headers: request_headers.into(),
        response_headers: HeaderList::default(),
        response_body: Default::default(),
        body_truncated: false,
        provider_error: None,
        fault: None,
    }
}

/// A legacy boto3 worker that never asks for a token, beside SDKs that do: one row flagged.
#[test]
fn the_readiness_view_flags_the_v1_caller() {
    const BOTO3: &str = "Boto3/1.26.0 Python/3.9.16 Linux/5.15.0 Botocore/1.29.0";
    const RUST: &str = "aws-sdk-rust/1.3.0 ua/2.1 api/imds/1.3.0 os/linux lang/rust/1.80.0";
    const CLI: &str = "aws-cli/2.15.0 md/awscrt#0.19.18 ua/2.0 os/linux#6.5.0 md/arch#x86_64";
    let creds = "/latest/meta-data/iam/security-credentials/";
    let records = [
        readiness_exchange(
            1,
            "api",
            RUST,
            "/latest/api/token",
            ImdsVersion::TokenRequest,
        ),
        readiness_exchange(2, "api", RUST, creds, ImdsVersion::V2),
        readiness_exchange(3, "legacy-worker", BOTO3, creds, ImdsVersion::V1),
        readiness_exchange(
            4,
            "legacy-worker",
            BOTO3,
            "/latest/meta-data/iam/security-credentials/worker-role",
            ImdsVersion::V1,
        ),
        readiness_exchange(
            5,
            "nightly-export",
            CLI,
            "/latest/api/token",
            ImdsVersion::TokenRequest,
        ),
        readiness_exchange(
            6,
            "nightly-export",
            CLI,
            "/latest/meta-data/placement/region",
            ImdsVersion::V2,
        ),
        readiness_exchange(7, "legacy-worker", BOTO3, creds, ImdsVersion::V1),
        readiness_exchange(
            8,
            "legacy-worker",
            "curl/7.88.1",
            "/latest/meta-data/instance-id",
            ImdsVersion::V1,
        ),
    ];
    for (width, height) in SIZES {
        let mut app = build_empty(width, height);
        for record in &records {
            app.handle(Event::Exchange(Arc::new(record.clone())));
        }
        key(&mut app, KeyCode::Char('6'));
        key(&mut app, KeyCode::Char('V'));
        let text = render(&app, width, height);
        assert!(text.contains("1 of 3 callers used IMDSv1"), "{text}");
        let flagged: Vec<&str> = text.lines().filter(|line| line.contains("! ")).collect();
        assert_eq!(flagged.len(), 1, "{text}");
        assert!(
            flagged[0].contains("legacy-worker") && flagged[0].contains("boto3 1.26.0"),
            "{text}"
        );
        assert!(
            text.contains("api") && text.contains("aws-sdk-rust 1.3.0"),
            "{text}"
        );
        insta::assert_snapshot!(format!("readiness_{width}x{height}"), text);
        // V (or Esc) goes back to the containers.
        key(&mut app, KeyCode::Char('V'));
        assert!(!render(&app, width, height).contains("IMDSv2 readiness"));
    }
}

/// The screen as text, each line followed (when it has any) by a line marking where
/// the cells are reversed (`#`) or underlined (`_`): what is left of focus and
/// selection once colours are gone.
fn render_marked(app: &App, width: u16, height: u16) -> String {
    use ratatui::style::Modifier;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        let mut text = String::new();
        let mut marks = String::new();
        for x in 0..width {
            let cell = &buffer[(x, y)];
            text.push_str(cell.symbol());
            marks.push(if cell.modifier.contains(Modifier::REVERSED) {
                '#'
            } else if cell.modifier.contains(Modifier::UNDERLINED) {
                '_'
            } else {
                ' '
            });
        }
        out.push_str(text.trim_end());
        out.push('\n');
        if !marks.trim().is_empty() {
            out.push_str(marks.trim_end());
            out.push('\n');
        }
    }
    out
}

/// Every colour that reached the screen, as (fg, bg) pairs other than the default.
fn colours(app: &App, width: u16, height: u16) -> usize {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, app)).unwrap();
    terminal
        .backend()
        .buffer()
        .content
        .iter()
        .filter(|cell| cell.fg != Color::Reset || cell.bg != Color::Reset)
        .count()
}

const ALL_SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

#[test]
fn long_paths_use_the_width_with_and_without_colour() {
    for (width, height) in ALL_SIZES {
        for monochrome in [false, true] {
            let mut app = build_busy(width, height);
            app.set_monochrome(monochrome);
            key(&mut app, KeyCode::Char('j'));
            let screen = render_marked(&app, width, height);
            let colour = if monochrome { "mono" } else { "colour" };
            insta::assert_snapshot!(format!("requests_{colour}_{width}x{height}"), screen);
            // Cut paths are marked, never silently shortened.
            let text = render(&app, width, height);
            assert!(
                text.contains("imds-spoof-dev-role") || text.contains("…"),
                "{text}"
            );
            assert!(
                text.contains('▶'),
                "the selected row is marked without colour"
            );
            if monochrome {
                assert_eq!(colours(&app, width, height), 0, "no colour with NO_COLOR");
            }
        }
    }
}

#[test]
fn a_revealed_secret_wraps_under_its_value_and_is_masked_on_leaving() {
    for (width, height) in ALL_SIZES {
        for monochrome in [false, true] {
            let mut app = build_busy(width, height);
            app.set_monochrome(monochrome);
            app.update(Action::GoTab(Tab::Credentials));
            key(&mut app, KeyCode::Char('l'));
            key(&mut app, KeyCode::Char('v'));
            let colour = if monochrome { "mono" } else { "colour" };
            let screen = render_marked(&app, width, height);
            insta::assert_snapshot!(
                format!("credentials_revealed_{colour}_{width}x{height}"),
                screen
            );
            // A continuation line starts under the value column, not at the border.
            let text = render(&app, width, height);
            for line in text.lines().filter(|line| line.contains("IQoJb3JpZ2lu")) {
                assert!(!line.contains("││IQoJ"), "{line}");
            }
            app.update(Action::GoTab(Tab::Requests));
            app.update(Action::GoTab(Tab::Credentials));
            assert!(!app.reveal(), "leaving the pane masks the secrets again");
        }
    }
}

#[test]
fn a_screen_too_small_says_so() {
    for (width, height) in [(60, 20), (79, 24), (100, 19)] {
        let app = build_busy(width, height);
        let screen = render(&app, width, height);
        assert!(
            screen.contains("terminal too small")
                && screen.contains(&format!("have {width}×{height}"))
                && screen.contains("need 80×20"),
            "{screen}"
        );
        if width == 60 {
            insta::assert_snapshot!("too_small_60x20", screen);
        }
    }
    let screen = render(&build_busy(80, 20), 80, 20);
    assert!(!screen.contains("terminal too small"));
}

#[test]
fn the_container_view_says_why_and_what_it_asked() {
    for (width, height) in ALL_SIZES {
        for monochrome in [false, true] {
            let mut app = build_busy(width, height);
            app.set_monochrome(monochrome);
            // app-2 plays worker by its label; it asked a token, then with and without it.
            for (id, path) in [
                (2001, "/latest/api/token"),
                (
                    2002,
                    "/latest/meta-data/iam/security-credentials/imds-spoof-worker-role",
                ),
                (2003, "/latest/meta-data/instance-id"),
            ] {
                let mut record = exchange(id);
                record.caller_container = Some("app-2".into());
                record.path = path.into();
                record.status = 200;
                record.identity = "worker".into();
                record.identity_origin = IdentityOrigin::Label;
                record.version = match id {
                    2001 => ImdsVersion::TokenRequest,
                    2002 => ImdsVersion::V2,
                    _ => ImdsVersion::V1,
                };
                if id == 2001 {
                    record.method = "PUT".into();
                    record.request_headers = vec![
                        ("user-agent", "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0"),
                        ("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
                    ]
                    .into();
                }
                app.push_exchange(Arc::new(record));
            }
            app.update(Action::GoTab(Tab::Containers));
            key(&mut app, KeyCode::Char('j'));
            key(&mut app, KeyCode::Enter);
            let screen = render_marked(&app, width, height);
            let colour = if monochrome { "mono" } else { "colour" };
            insta::assert_snapshot!(format!("container_view_{colour}_{width}x{height}"), screen);
            let text = render(&app, width, height);
            assert!(text.contains("Container app-2"), "{text}");
            assert!(text.contains("worker (label)"), "{text}");
            assert!(text.contains("imds-spoof.identity=worker"), "{text}");
            key(&mut app, KeyCode::Esc);
            assert!(!render(&app, width, height).contains("Container app-2"));
        }
    }
}
