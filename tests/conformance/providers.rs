//! Credential commands and external providers: cases 39 and 40.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use imds_spoof::config::{ConfigStore, CredentialSource};
use imds_spoof::imds::time::format_timestamp;
use imds_spoof::provider::{
    BuiltinProvider, Clock, ExternalProvider, ManualClock, Provider, ProviderAnswer,
    ProviderFuture, ProviderRequest, RefreshState,
};
use time::OffsetDateTime;

use crate::support::{loopback, Imds, CREDENTIALS_PATH, SIGNER};

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";

/// The sample with the default role's credentials coming from `command`.
fn with_command(command: &str, timeout_ms: u64) -> Imds {
    let command = command.to_string();
    Imds::with(move |config| {
        if let Some(role) = config.identities[0].role.as_mut() {
            role.source = CredentialSource::Command {
                command,
                timeout_ms,
            };
        }
    })
}

/// The sample with the default role's credentials from `command` (5 s timeout), in a
/// store the test can edit.
fn command_store(command: String) -> ConfigStore {
    let mut config = crate::support::sample_config();
    if let Some(role) = config.identities[0].role.as_mut() {
        role.source = CredentialSource::Command {
            command,
            timeout_ms: 5_000,
        };
    }
    ConfigStore::in_memory(config)
}

/// A credential_process script that counts its runs, one line each, in `counter`.
fn counting_script(dir: &Path, expiration: &str) -> (String, std::path::PathBuf) {
    let counter = dir.join("runs");
    let script = dir.join("credentials.sh");
    let text = format!(
        "#!/bin/sh\necho run >> '{counter}'\nsleep 0.2\n\
         echo '{{\"Version\": 1, \"AccessKeyId\": \"ASIACOMMANDEXAMPLE01\", \
         \"SecretAccessKey\": \"commandSecret\", \"SessionToken\": \"commandToken\", \
         \"Expiration\": \"{expiration}\"}}'\n",
        counter = counter.display()
    );
    std::fs::write(&script, text).expect("write script");
    (format!("sh '{}'", script.display()), counter)
}

fn runs(counter: &Path) -> usize {
    std::fs::read_to_string(counter)
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_39_a_credential_command_runs_once_for_many_requests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let expiration = format_timestamp(OffsetDateTime::now_utc() + time::Duration::hours(1));
    let (command, counter) = counting_script(dir.path(), &expiration);
    let imds = Arc::new(with_command(&command, 5_000));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let imds = imds.clone();
            tokio::spawn(async move { imds.get(CREDENTIALS_PATH).await })
        })
        .collect();
    for task in tasks {
        let answer = task.await.expect("request task");
        answer.assert_ok("command credentials");
        let json = answer.json();
        assert_eq!(json["AccessKeyId"], "ASIACOMMANDEXAMPLE01");
        assert_eq!(json["Token"], "commandToken");
        assert_eq!(json["Expiration"], expiration.as_str());
    }
    for _ in 0..10 {
        imds.get(CREDENTIALS_PATH).await.assert_ok("sequential");
    }
    assert_eq!(runs(&counter), 1, "the command ran more than once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_39_a_credential_command_runs_again_near_its_expiry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let start = OffsetDateTime::now_utc();
    let expiration = format_timestamp(start + time::Duration::hours(1));
    let (command, counter) = counting_script(dir.path(), &expiration);
    // On a clock the test moves: the refresh point is 55 minutes away.
    let clock = ManualClock::new(start);
    let store = command_store(command);
    let provider = Arc::new(BuiltinProvider::with_clock(
        store.clone(),
        SIGNER.clone(),
        Arc::new(clock.clone()),
    ));
    let mut states = provider.refresh_states();
    let imds = Imds::from_parts(store, provider, loopback(), |_| {});
    imds.get(CREDENTIALS_PATH).await.assert_ok("first");
    imds.get(CREDENTIALS_PATH).await.assert_ok("cached");
    assert_eq!(runs(&counter), 1);
    clock.advance(Duration::from_secs(56 * 60));
    let now = clock.now();
    let refreshed = tokio::time::timeout(
        Duration::from_secs(10),
        states.wait_for(|states| {
            matches!(states.get("default"), Some(RefreshState::Fresh { refresh_at, .. }) if *refresh_at > now)
        }),
    )
    .await
    .is_ok_and(|changed| changed.is_ok());
    assert!(refreshed, "not refreshed: {:?}", states.borrow());
    imds.get(CREDENTIALS_PATH).await.assert_ok("refreshed");
    assert_eq!(runs(&counter), 2, "not run again near expiry");
}

/// A credential_process script that prints the key id written in `dir/key`.
fn key_file_script(dir: &Path, expiration: &str) -> String {
    let script = dir.join("credentials.sh");
    let text = format!(
        "#!/bin/sh\nprintf '{{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"s\", \
         \"SessionToken\": \"t\", \"Expiration\": \"{expiration}\"}}\\n' \"$(cat '{key}')\"\n",
        key = dir.join("key").display()
    );
    std::fs::write(&script, text).expect("write script");
    format!("sh '{}'", script.display())
}

/// Asks for the credentials and checks they carry `key` (`what`: the step, for the message).
async fn expect_key(imds: &Imds, key: &str, what: &str) {
    let answer = imds.get(CREDENTIALS_PATH).await;
    answer.assert_ok(what);
    assert_eq!(answer.json()["AccessKeyId"].as_str(), Some(key), "{what}");
}

/// Repeated credentials requests are answered from what the thread served last
/// (`provider/served.rs`); that answer must give way to rotation, to the end of the
/// credentials' freshness and to a configuration edit, each on the very next request.
#[tokio::test]
async fn case_39_repeated_credentials_follow_rotation_staleness_and_edits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let start = OffsetDateTime::now_utc();
    let expiration = format_timestamp(start + time::Duration::hours(1));
    let command = key_file_script(dir.path(), &expiration);
    let set_key = |key: &str| std::fs::write(dir.path().join("key"), key).expect("write key");
    let clock = ManualClock::new(start);
    let store = command_store(command);
    // Built outside the runtime: no background refresher, so every change below is
    // the request's own doing (a refresher would move the cache on its own schedule).
    let provider = {
        let (store, clock) = (store.clone(), clock.clone());
        std::thread::spawn(move || {
            BuiltinProvider::with_clock(store, SIGNER.clone(), Arc::new(clock))
        })
        .join()
        .expect("provider built")
    };
    let provider = Arc::new(provider);
    let imds = Imds::from_parts(store, provider.clone(), loopback(), |_| {});
    set_key("ASIAFIRSTEXAMPLE0001");
    expect_key(&imds, "ASIAFIRSTEXAMPLE0001", "first").await;
    set_key("ASIASECONDEXAMPLE001");
    expect_key(&imds, "ASIAFIRSTEXAMPLE0001", "cached, still fresh").await;

    provider.credentials().forget_cached();
    expect_key(&imds, "ASIASECONDEXAMPLE001", "after rotation").await;
    // A cached answer is what gets reused: ask once more so there is one to reuse.
    expect_key(&imds, "ASIASECONDEXAMPLE001", "cached again").await;

    set_key("ASIATHIRDEXAMPLE0001");
    clock.advance(Duration::from_secs(56 * 60));
    expect_key(&imds, "ASIATHIRDEXAMPLE0001", "after going stale").await;
    expect_key(&imds, "ASIATHIRDEXAMPLE0001", "cached again").await;

    set_key("ASIAFOURTHEXAMPLE001");
    imds.update(|config| {
        if let Some(role) = config.identities[0].role.as_mut() {
            if let CredentialSource::Command { timeout_ms, .. } = &mut role.source {
                *timeout_ms = 6_000;
            }
        }
    });
    expect_key(&imds, "ASIAFOURTHEXAMPLE001", "after an edit").await;
}

/// Case 39 across worker threads: each of four threads has served (and so memoised) the
/// first keys; after a rotation, none of them serves the old keys again, on its very next
/// request. Each thread runs its own runtime, so the four memos are certainly distinct.
#[test]
fn case_39_rotation_reaches_every_thread_that_memoised_the_old_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let start = OffsetDateTime::now_utc();
    let expiration = format_timestamp(start + time::Duration::hours(1));
    let command = key_file_script(dir.path(), &expiration);
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "ASIAFIRSTEXAMPLE0001").expect("write key");
    let store = command_store(command);
    let provider = Arc::new(BuiltinProvider::with_clock(
        store.clone(),
        SIGNER.clone(),
        Arc::new(ManualClock::new(start)),
    ));
    let imds = Arc::new(Imds::from_parts(
        store,
        provider.clone(),
        loopback(),
        |_| {},
    ));
    const THREADS: usize = 4;
    let memoised = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let rotated = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let workers: Vec<_> = (0..THREADS)
        .map(|worker| {
            let (imds, memoised, rotated) = (imds.clone(), memoised.clone(), rotated.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    let what = format!("thread {worker}");
                    expect_key(&imds, "ASIAFIRSTEXAMPLE0001", &what).await;
                    expect_key(&imds, "ASIAFIRSTEXAMPLE0001", &what).await;
                });
                memoised.wait();
                rotated.wait();
                runtime.block_on(async {
                    let what = format!("thread {worker} after rotation");
                    expect_key(&imds, "ASIASECONDEXAMPLE001", &what).await;
                });
            })
        })
        .collect();
    memoised.wait();
    std::fs::write(&key_file, "ASIASECONDEXAMPLE001").expect("write key");
    provider.credentials().forget_cached();
    rotated.wait();
    for worker in workers {
        worker
            .join()
            .expect("a thread served old keys after rotation");
    }
}

/// The 500 EC2 gives when its credential backend fails, then a normal answer.
async fn fails_then_serves(imds: &Imds, path: &str, timeout: Duration, what: &str) {
    let started = Instant::now();
    let answer = imds.get(path).await;
    let elapsed = started.elapsed();
    answer.assert_error(StatusCode::INTERNAL_SERVER_ERROR, what);
    assert!(
        elapsed < timeout + Duration::from_millis(1500),
        "{what}: answered after {elapsed:?}"
    );
    let record = imds.state.recorder.snapshot();
    let last = record.last().expect("recorded");
    assert_eq!(last.status, 500);
    assert!(
        last.provider_error.is_some(),
        "{what}: no provider error recorded"
    );
}

#[tokio::test]
async fn case_40_failing_credential_commands_give_500_and_the_server_keeps_serving() {
    let timeout = Duration::from_millis(400);
    for (what, command) in [
        ("failing", "echo 'no session' >&2; exit 2"),
        ("garbage", "echo 'this is not JSON'"),
        ("wrong JSON", "echo '{\"Version\": 1}'"),
        ("hanging", "sleep 30"),
    ] {
        let imds = with_command(command, 400);
        fails_then_serves(&imds, CREDENTIALS_PATH, timeout, what).await;
        imds.get(INSTANCE_ID).await.assert_ok(what);
        // The failure is answered again (from the back-off, or a new run): still a 500.
        fails_then_serves(&imds, CREDENTIALS_PATH, timeout, what).await;
    }
}

fn external(script: &str, timeout: Duration) -> Imds {
    let provider = ExternalProvider::new(
        vec!["sh".into(), "-c".into(), script.into(), "provider".into()],
        timeout,
        Duration::ZERO,
    );
    let store = Imds::new().store;
    Imds::from_parts(store, Arc::new(provider), loopback(), |_| {})
}

#[tokio::test]
async fn case_40_failing_external_providers_give_500_and_the_server_keeps_serving() {
    let timeout = Duration::from_millis(400);
    // Fails on credentials only, so the same server shows it keeps serving.
    let only_credentials = |failure: &str| {
        format!(
            "cat >/dev/null; case \"$4\" in *security-credentials*) {failure};; \
             *) printf 'i-0123456789abcdef0';; esac"
        )
    };
    for (what, failure) in [
        ("failing", "echo broken >&2; exit 1"),
        ("hanging", "sleep 30"),
        (
            "bad envelope status",
            "echo '{\"status\": \"ok\", \"body\": \"x\"}'",
        ),
        ("out-of-range status", "echo '{\"status\": 999}'"),
        ("killed", "kill -9 $$"),
    ] {
        let imds = external(&only_credentials(failure), timeout);
        fails_then_serves(&imds, CREDENTIALS_PATH, timeout, what).await;
        let answer = imds.get(INSTANCE_ID).await;
        answer.assert_ok(what);
        assert_eq!(answer.text(), "i-0123456789abcdef0");
    }
    // A 404 from the program becomes EC2's 404 page.
    let imds = external("cat >/dev/null; exit 4", timeout);
    imds.get(INSTANCE_ID)
        .await
        .assert_error(StatusCode::NOT_FOUND, "exit 4");
}

/// A provider with a bug: it panics on credentials.
struct PanickingProvider;

impl Provider for PanickingProvider {
    fn answer<'a>(&'a self, request: &'a ProviderRequest) -> ProviderFuture<'a> {
        Box::pin(async move {
            if request.path.contains("security-credentials") {
                panic!("provider bug");
            }
            Ok(ProviderAnswer::ok("i-0123456789abcdef0"))
        })
    }
}

#[tokio::test]
async fn case_40_a_panicking_provider_gives_500_and_the_server_keeps_serving() {
    let store = Imds::new().store;
    let imds = Imds::from_parts(store, Arc::new(PanickingProvider), loopback(), |_| {});
    // The panic hook may print a backtrace first (RUST_BACKTRACE), slow on a busy machine:
    // the point is an answer, not a hang.
    fails_then_serves(&imds, CREDENTIALS_PATH, Duration::from_secs(5), "panic").await;
    imds.get(INSTANCE_ID).await.assert_ok("after a panic");
}
