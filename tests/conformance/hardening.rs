//! Issue 9, "safe with real credentials": bounded helpers, failures shared with every
//! waiter, no request waiting on a helper while credentials are cached, unknown config
//! keys refused with their line, masking that survives a cut body, an owner-only log.
//! Memory use of a runaway helper is measured in tests/helper_memory.rs (its own process).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use imds_spoof::broker::Recorder;
use imds_spoof::config::{self, ConfigStore, CredentialSource};
use imds_spoof::imds::time::format_timestamp;
use imds_spoof::provider::{
    BuiltinProvider, ExternalProvider, ManualClock, Provider, RefreshState, RefreshStates,
};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::support::{loopback, sample_config, Imds, CREDENTIALS_PATH, SIGNER};

/// The sample with the default role's credentials from `command`, served by a provider
/// on `clock`; the provider is returned too, for its refresh states.
fn command_broker(
    command: &str,
    timeout_ms: u64,
    clock: ManualClock,
) -> (Imds, Arc<BuiltinProvider>) {
    let mut config = sample_config();
    if let Some(role) = config.identities[0].role.as_mut() {
        role.source = CredentialSource::Command {
            command: command.to_string(),
            timeout_ms,
        };
    }
    let store = ConfigStore::in_memory(config);
    let provider = Arc::new(BuiltinProvider::with_clock(
        store.clone(),
        SIGNER.clone(),
        Arc::new(clock),
    ));
    let imds = Imds::from_parts(store, provider.clone(), loopback(), |_| {});
    (imds, provider)
}

/// Waits (in real time, bounded) until the default identity's refresh state passes `test`.
async fn wait_for_state(
    states: &mut watch::Receiver<RefreshStates>,
    what: &str,
    test: impl Fn(&RefreshState) -> bool,
) {
    let waited = tokio::time::timeout(
        Duration::from_secs(20),
        states.wait_for(|states| states.get("default").is_some_and(&test)),
    )
    .await
    .is_ok_and(|changed| changed.is_ok());
    assert!(
        waited,
        "{what}: refresh state stayed {:?}",
        states.borrow().get("default")
    );
}

fn runs(counter: &Path) -> usize {
    std::fs::read_to_string(counter)
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

/// Four requests arriving together on a hanging helper: one run, one timeout for all.
async fn four_waiters(imds: &Imds, timeout: Duration, what: &str) {
    let imds = Arc::new(imds);
    let answers = futures_util::future::join_all((0..4).map(|_| {
        let imds = imds.clone();
        async move {
            let started = Instant::now();
            let answer = imds.get(CREDENTIALS_PATH).await;
            (answer.status, started.elapsed())
        }
    }))
    .await;
    let times: Vec<Duration> = answers.iter().map(|(_, elapsed)| *elapsed).collect();
    eprintln!("{what}: four waiters answered after {times:?}");
    for (status, elapsed) in answers {
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        // Below two timeouts: waiters that each ran the helper again would answer after
        // 2, 3, 4 timeouts. The margin is for a busy CI machine.
        assert!(
            elapsed < timeout + Duration::from_millis(900),
            "{what}: a waiter answered after {elapsed:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_waiters_on_a_hanging_command_share_one_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = dir.path().join("runs");
    let command = format!("echo run >> '{}'; sleep 30", counter.display());
    let timeout = Duration::from_millis(1_000);
    let (imds, _provider) =
        command_broker(&command, 1_000, ManualClock::new(OffsetDateTime::now_utc()));
    four_waiters(&imds, timeout, "credential command").await;
    assert_eq!(runs(&counter), 1, "each waiter ran the command again");
    // The shared failure is answered at once during the back-off, without another run.
    let started = Instant::now();
    imds.get(CREDENTIALS_PATH)
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "during the back-off");
    // Another run would take the whole timeout: the shared failure comes sooner.
    assert!(
        started.elapsed() < timeout,
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(runs(&counter), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_waiters_on_a_hanging_provider_program_share_one_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = dir.path().join("runs");
    let script = format!(
        "cat >/dev/null; echo run >> '{}'; sleep 30",
        counter.display()
    );
    let timeout = Duration::from_millis(1_000);
    let provider = ExternalProvider::new(
        vec!["sh".into(), "-c".into(), script, "provider".into()],
        timeout,
        Duration::ZERO,
    );
    let imds = Imds::from_parts(Imds::new().store, Arc::new(provider), loopback(), |_| {});
    four_waiters(&imds, timeout, "provider program").await;
    assert_eq!(runs(&counter), 1, "each waiter ran the program again");
}

#[tokio::test]
async fn endless_output_is_a_bounded_error() {
    let (imds, _provider) =
        command_broker("yes", 20_000, ManualClock::new(OffsetDateTime::now_utc()));
    let started = Instant::now();
    imds.get(CREDENTIALS_PATH)
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "endless command");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped at the cap, not the timeout"
    );
    let records = imds.state.recorder.snapshot();
    let error = records
        .last()
        .and_then(|record| record.provider_error.clone())
        .expect("provider error recorded");
    assert!(error.contains("printed more than 1 MiB"), "{error}");

    let provider = ExternalProvider::new(
        vec!["sh".into(), "-c".into(), "cat >/dev/null; yes".into()],
        Duration::from_secs(20),
        Duration::ZERO,
    );
    let answer = provider
        .answer(&imds_spoof::provider::ProviderRequest {
            method: "GET".into(),
            path: CREDENTIALS_PATH.into(),
            identity: "default".into(),
            caller_ip: None,
            caller_container: None,
        })
        .await;
    let error = answer.expect_err("endless provider output").to_string();
    assert!(error.contains("printed more than 1 MiB"), "{error}");
}

/// A credential_process taking two seconds (like `aws configure export-credentials`),
/// numbering its runs in the key id and printing the Expiration found in `expiration`.
fn slow_script(dir: &Path) -> String {
    let script = dir.join("slow.sh");
    let text = format!(
        "#!/bin/sh\ncd '{dir}'\necho run >> runs\nsleep 2\n\
         printf '{{\"Version\": 1, \"AccessKeyId\": \"ASIASLOWCOMMAND%05d\", \
         \"SecretAccessKey\": \"slowSecret\", \"SessionToken\": \"slowToken\", \
         \"Expiration\": \"%s\"}}' \"$(wc -l < runs)\" \"$(cat expiration)\"\n",
        dir = dir.display()
    );
    std::fs::write(&script, text).expect("write script");
    format!("sh '{}'", script.display())
}

/// One credentials request: its key id and how long it took.
async fn timed_key(imds: &Imds, what: &str) -> (String, Duration) {
    let started = Instant::now();
    let answer = imds.get(CREDENTIALS_PATH).await;
    let elapsed = started.elapsed();
    eprintln!("{what}: answered in {elapsed:?}");
    answer.assert_ok(what);
    let key = answer.json()["AccessKeyId"]
        .as_str()
        .expect("AccessKeyId")
        .to_string();
    (key, elapsed)
}

/// Far below the slow command's 2 s, so a request that waited on it cannot pass, and far
/// above a cached answer's cost on a busy CI machine.
const NO_WAIT: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_waits_on_a_slow_command_after_start_or_expiry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let start = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("whole second");
    let first_expiry = start + time::Duration::hours(1);
    std::fs::write(
        dir.path().join("expiration"),
        format_timestamp(first_expiry),
    )
    .expect("write");
    let clock = ManualClock::new(start);
    let (imds, provider) = command_broker(&slow_script(dir.path()), 10_000, clock.clone());
    let mut states = provider.refresh_states();

    // Fetched when the broker starts: the first request finds it cached.
    wait_for_state(&mut states, "after start", |state| {
        matches!(state, RefreshState::Fresh { expiration, .. } if *expiration == first_expiry)
    })
    .await;
    let (key, elapsed) = timed_key(&imds, "first request").await;
    assert_eq!(key, "ASIASLOWCOMMAND00001");
    assert!(elapsed < NO_WAIT, "first request took {elapsed:?}");

    // Past the refresh point (five minutes before Expiration) the refresher runs the
    // command again; meanwhile the still valid credentials are served at once.
    let second_expiry = start + time::Duration::hours(2);
    std::fs::write(
        dir.path().join("expiration"),
        format_timestamp(second_expiry),
    )
    .expect("write");
    clock.advance(Duration::from_secs(56 * 60));
    wait_for_state(&mut states, "refreshing", |state| {
        matches!(state, RefreshState::Fetching { serving_until: Some(until) } if *until == first_expiry)
    })
    .await;
    let (key, elapsed) = timed_key(&imds, "during the refresh").await;
    assert_eq!(key, "ASIASLOWCOMMAND00001");
    assert!(elapsed < NO_WAIT, "request during refresh took {elapsed:?}");
    wait_for_state(&mut states, "refreshed", |state| {
        matches!(state, RefreshState::Fresh { expiration, .. } if *expiration == second_expiry)
    })
    .await;

    // The first request after the old credentials expired gets the new ones at once.
    clock.advance(Duration::from_secs(5 * 60));
    let (key, elapsed) = timed_key(&imds, "first after expiry").await;
    assert_eq!(key, "ASIASLOWCOMMAND00002");
    assert!(elapsed < NO_WAIT, "first after expiry took {elapsed:?}");
    assert_eq!(runs(&dir.path().join("runs")), 2);
}

#[tokio::test]
async fn refresh_states_report_failures_with_their_reason() {
    let (imds, provider) = command_broker(
        "echo 'session expired, run aws sso login' >&2; exit 255",
        2_000,
        ManualClock::new(OffsetDateTime::now_utc()),
    );
    let mut states = provider.refresh_states();
    wait_for_state(&mut states, "failing command", |state| {
        matches!(state, RefreshState::Failed { reason, serving_until: None, .. }
            if reason.contains("aws sso login"))
    })
    .await;
    imds.get(CREDENTIALS_PATH)
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "failed fetch");
}

#[test]
fn a_misspelt_fault_key_is_refused_with_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    let text = format!(
        "{}\n[[fault]]\npath = \"/latest/meta-data/iam/\"\nkind = \"status\"\nstatus = 500\nprobability = 0.01\n",
        config::SAMPLE_CONFIG
    );
    let line = text
        .lines()
        .position(|line| line.starts_with("path = "))
        .expect("typo line")
        + 1;
    std::fs::write(&path, &text).expect("write config");
    let err = match ConfigStore::from_file(&path, None) {
        Ok(_) => panic!("a misspelt key was accepted"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains(&format!("config.toml:{line}:")) && err.contains("unknown field `path`"),
        "{err}"
    );
    let fixed = text.replace("\npath = ", "\npath_prefix = ");
    std::fs::write(&path, fixed).expect("write config");
    let store = ConfigStore::from_file(&path, None).expect("fixed config loads");
    assert_eq!(
        store.current().faults[0].path_prefix,
        "/latest/meta-data/iam/"
    );
}

/// The longest piece (5 characters or more) of `secret` found in `text`; 0 if none.
fn longest_secret_run(text: &str, secret: &str) -> usize {
    (5..=secret.len())
        .rev()
        .find(|len| (0..=secret.len() - len).any(|at| text.contains(&secret[at..at + len])))
        .unwrap_or(0)
}

#[tokio::test]
async fn cut_bodies_are_masked_in_records_and_the_log_file() {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjTOKENqqqqqqqqqqqqqqqqqqqqqq";
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("requests.jsonl");
    let log_path = log.clone();
    let imds = Imds::build(
        |config| {
            if let Some(role) = config.identities[0].role.as_mut() {
                role.source = CredentialSource::Static {
                    access_key_id: "ASIAHARDENINGEXAMPLE".into(),
                    secret_access_key: SECRET.into(),
                    session_token: Some(TOKEN.into()),
                    expiration: None,
                };
            }
        },
        loopback(),
        move |state| {
            state.recorder = Arc::new(
                Recorder::new(1_000)
                    .with_log_file(&log_path)
                    .expect("open the request log"),
            );
        },
    );
    let full_length = imds.get(CREDENTIALS_PATH).await.body.len();
    for limit in 1..=full_length + 1 {
        imds.update(|config| config.broker.record_body_limit = limit);
        imds.get(CREDENTIALS_PATH).await.assert_ok("credentials");
        let record = imds.last_record();
        let shown = serde_json::to_string(&record.masked()).expect("serialize");
        for secret in [SECRET, TOKEN] {
            assert_eq!(
                longest_secret_run(&shown, secret),
                0,
                "limit {limit}: {shown}"
            );
        }
    }
    // The JSON-lines file: every line written, none with a secret, owner-only.
    let expected_lines = full_length + 2;
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    crate::support::wait_until_async(Duration::from_secs(5), || {
        read().lines().count() >= expected_lines
    })
    .await;
    let text = read();
    assert_eq!(text.lines().count(), expected_lines, "log lines");
    for secret in [SECRET, TOKEN] {
        assert_eq!(
            longest_secret_run(&text, secret),
            0,
            "secret in the log file"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&log)
        .expect("log metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "log file mode {mode:o}");
}

#[tokio::test]
async fn a_failing_command_line_is_named_without_its_secrets() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz";
    let command = format!("false --token s.vaulttoken --key={secret} {secret}");
    let (imds, _provider) =
        command_broker(&command, 2_000, ManualClock::new(OffsetDateTime::now_utc()));
    imds.get(CREDENTIALS_PATH)
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "failing command");
    let records = imds.state.recorder.snapshot();
    let error = records
        .last()
        .and_then(|record| record.provider_error.clone())
        .expect("provider error recorded");
    assert!(error.contains("command `false --token ****"), "{error}");
    assert!(
        !error.contains("vaulttoken") && !error.contains("SECRET"),
        "{error}"
    );
}
