//! `imds-spoof up` / `down` / `status` against the real engine, with real clients (curl,
//! botocore) in containers on the network. One test function: the scenarios share the
//! network name and subnet, so they run in sequence (and under a lock shared with the
//! other Docker tests).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::clients::expectation_args;
use support::docker::*;
use support::need::{python, report_skip};
use support::wait::wait_for;
use support::{describe as text, require, Expected, Need, BIN};

const TEST: &str = "up_down_status_against_the_real_engine";

/// The sample's default identity, which a container without a label gets.
fn default_identity() -> Expected {
    Expected::sample_identity(0)
}

/// Every listing under meta-data/ and dynamic/ walked with an IMDSv2 token, each leaf fetched;
/// prints "STATUS PATH" per request.
const WALK: &str = r#"
set -u
B=http://169.254.169.254
T=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' $B/latest/api/token) || { echo "token PUT failed"; exit 2; }
get() { curl -s -o /dev/null -w '%{http_code}' -H "X-aws-ec2-metadata-token: $T" "$B$1"; }
walk() {
  local out code body entry
  out=$(curl -s -w '\n%{http_code}' -H "X-aws-ec2-metadata-token: $T" "$B$1")
  code=${out##*$'\n'}; body=${out%$'\n'*}
  echo "$code $1"
  [ "$code" = 200 ] || return 0
  while IFS= read -r entry; do
    [ -z "$entry" ] && continue
    entry=${entry%%=*}
    if [[ $1 == */public-keys/ ]]; then walk "$1$entry/"
    elif [[ $entry == */ ]]; then walk "$1$entry"
    else echo "$(get "$1$entry") $1$entry"
    fi
  done <<< "$body"
}
walk /latest/meta-data/
walk /latest/dynamic/
echo "$(get /latest/user-data) /latest/user-data"
echo "instance-id=$(curl -s -H "X-aws-ec2-metadata-token: $T" $B/latest/meta-data/instance-id)"
ROLE=$(curl -s -H "X-aws-ec2-metadata-token: $T" $B/latest/meta-data/iam/security-credentials/)
echo "credentials=$(curl -s -H "X-aws-ec2-metadata-token: $T" $B/latest/meta-data/iam/security-credentials/$ROLE | tr -d '\n ')"
"#;

#[test]
fn up_down_status_against_the_real_engine() {
    if !require(Need::Docker, TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let (dir, config, port) = (&engine.dir, engine.config.clone(), engine.port);
    let python = python(&format!("{TEST} (botocore in a container)"));
    let venv = python
        .as_ref()
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf));
    let mounts = client_mounts(venv.as_deref());

    errors_before_up(&config, dir.path());

    let (up, log) = engine.up_logging("up1");
    // The broker listens on a unix socket mounted into the proxy, not on the bridge.
    let broker = up.ready["broker"].as_str().expect("broker").to_string();
    let run = up.ready["run"].as_str().expect("run").to_string();
    assert!(
        broker.starts_with("unix:/") && broker.ends_with(&format!("/run-{run}/broker.sock")),
        "{broker}"
    );
    let status = imds_spoof(&config, &["status"], &[]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .contains(&format!("broker   {broker}: answering through the proxy")),
        "{}",
        text(&status)
    );

    walk_with_curl(&mounts, &log, &up);
    only_the_proxy_reaches_the_broker(&mounts, port, &log);
    identity_label_picks_worker(&mounts, &log);
    if let (Some(python), Some(_)) = (&python, &venv) {
        botocore_without_env(python, &mounts);
    }
    tokens_required(&up, &config, &mounts);
    hop_limit(&up, &config, &mounts, python.as_deref());
    a_second_live_run_is_refused(&config, dir.path());
    down_refuses_while_attached(&config, &mounts);

    // kill -9: the proxy and the socket directory stay behind; the next `up` clears both
    // and works.
    let killed_dir = socket_dir_of(&broker);
    up.kill9();
    assert!(
        !leftovers().0.is_empty(),
        "the killed run's proxy should remain"
    );
    assert!(killed_dir.exists(), "{}", killed_dir.display());
    let up = Up::start(&config, &[], &dir.path().join("up2.err"))
        .unwrap_or_else(|(err, code)| panic!("up after kill -9 failed ({code}): {err}"));
    // Every proxy container of the killed run: IMDS's and the doors'.
    for name in ["imds-spoof-proxy", "imds-spoof-ecs", "imds-spoof-eks"] {
        assert!(
            up.stderr()
                .contains(&format!("removing {name} left by run")),
            "{}",
            up.stderr()
        );
    }
    assert!(!killed_dir.exists(), "{} left", killed_dir.display());
    let second_dir = socket_dir_of(up.ready["broker"].as_str().expect("broker"));
    let probe = run_client(
        "imds-spoof-test-after-kill",
        &[],
        &mounts,
        &CURL_INSTANCE_ID,
    );
    assert_stdout(&probe, &default_identity().instance_id);
    assert_eq!(up.stop(), 0, "SIGTERM ends up cleanly");
    assert!(!second_dir.exists(), "{} left", second_dir.display());
    let (containers, _) = leftovers();
    assert!(
        containers.is_empty(),
        "SIGTERM leaves the proxy: {containers}"
    );

    let down = imds_spoof(&config, &["down"], &[]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(
        leftovers(),
        (String::new(), String::new()),
        "down leaves objects"
    );
}

/// The run directory holding the broker's socket ("unix:/…/run-ID/broker.sock").
fn socket_dir_of(broker: &str) -> std::path::PathBuf {
    let socket = Path::new(broker.strip_prefix("unix:").expect("a unix socket"));
    socket.parent().expect("socket directory").to_path_buf()
}

/// Failures that must exit non-zero with a message that says what to do.
fn errors_before_up(config: &Path, dir: &Path) {
    let out = imds_spoof(
        config,
        &["up"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Docker is not running"),
        "{}",
        text(&out)
    );
    let nowhere = format!("tcp://127.0.0.1:{}", free_port());
    let out = imds_spoof(config, &["up"], &[("DOCKER_HOST", &nowhere)]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("connection refused"),
        "{}",
        text(&out)
    );

    permission_denied_as_nobody(dir);

    // Another network on the subnet: named in the message.
    let made = docker(&[
        "network",
        "create",
        "--subnet",
        "169.254.0.0/16",
        "--label",
        TEST_LABEL,
        "imds-spoof-test-other",
    ]);
    assert!(made.status.success(), "{}", text(&made));
    let out = imds_spoof(config, &["up"], &[]);
    docker(&["network", "rm", "imds-spoof-test-other"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"imds-spoof-test-other\"") && err.contains("docker network rm"),
        "{err}"
    );

    // The broker port taken by another program: behind the proxy on a local engine the
    // broker uses no port (a unix socket), so `serve` on loopback shows the exit status.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_port = taken.local_addr().expect("addr").port();
    let listen = format!("127.0.0.1:{taken_port}");
    let out = imds_spoof(config, &["serve", "--listen", &listen], &[]);
    drop(taken);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("port {taken_port} is taken")),
        "{}",
        text(&out)
    );

    // The broker's socket directory cannot be made (its base is not a directory of ours).
    let runtime = dir.join("runtime");
    std::fs::create_dir(&runtime).expect("runtime dir");
    std::fs::write(runtime.join("imds-spoof"), "not a directory").expect("write");
    let runtime_arg = runtime.to_string_lossy().to_string();
    let out = imds_spoof(config, &["up"], &[("XDG_RUNTIME_DIR", &runtime_arg)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("socket directory"),
        "{}",
        text(&out)
    );

    // An image that is not there and cannot be pulled: the offline script is named.
    let out = imds_spoof(
        config,
        &["up", "--proxy-image", "imds-spoof/missing-image:1"],
        &[],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("scripts/offline-images.sh"),
        "{}",
        text(&out)
    );
    assert!(leftovers().0.is_empty(), "failed starts leave no proxy");
}

/// As root, run the binary as `nobody`, who may not open the socket (root always may).
fn permission_denied_as_nobody(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let test = format!("{TEST} (permission denied as nobody)");
    if !support::require(Need::Root, &test) {
        return;
    }
    let over_tcp =
        std::env::var("DOCKER_HOST").is_ok_and(|h| !h.is_empty() && !h.starts_with("unix://"));
    if over_tcp {
        report_skip(&test, "the engine is reached over TCP, not a unix socket");
        return;
    }
    let shared = dir.join("nobody");
    std::fs::create_dir_all(&shared).expect("dir");
    let binary = shared.join("imds-spoof");
    std::fs::copy(BIN, &binary).expect("copy binary");
    for (path, mode) in [
        (dir, 0o755),
        (shared.as_path(), 0o777),
        (binary.as_path(), 0o755),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let out = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&binary)
        .arg("--config")
        .arg(shared.join("config.toml"))
        .arg("up")
        .output()
        .expect("runuser");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("permission denied on the Docker socket"),
        "{}",
        text(&out)
    );
}

fn walk_with_curl(mounts: &[String], log: &Path, up: &Up) {
    let name = "imds-spoof-test-walk";
    let out = run_client(name, &[], mounts, &["bash", "-c", WALK]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let fetched: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    let failed: Vec<&&str> = fetched.iter().filter(|l| !l.starts_with("200 ")).collect();
    assert!(failed.is_empty(), "non-200 answers: {failed:?}\n{stdout}");
    assert!(
        fetched.len() >= 40,
        "walked only {} paths:\n{stdout}",
        fetched.len()
    );
    for path in [
        "/latest/meta-data/iam/info",
        "/latest/dynamic/instance-identity/document",
        "/latest/meta-data/placement/region",
    ] {
        assert!(
            stdout.contains(&format!("200 {path}")),
            "{path} not walked:\n{stdout}"
        );
    }
    let expected = default_identity();
    assert!(
        stdout.contains(&format!("instance-id={}", expected.instance_id)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("\"AccessKeyId\":\"{}\"", expected.access_key))
            && stdout.contains("\"Code\":\"Success\""),
        "{stdout}"
    );

    // The broker knew the caller's container, in the request log and in up's JSON lines.
    let records = wait_for_record(log, |r| r["path"] == "/latest/meta-data/instance-id");
    assert_eq!(records["caller_container"], name, "{records}");
    assert_eq!(records["version"], "v2");
    let stderr = up.stderr();
    let line = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["target"] == "imds_spoof::requests" && l["fields"]["container"] == name);
    assert!(
        line.is_some(),
        "no request line naming {name} in up's output:\n{stderr}"
    );
}

/// A container cannot call the broker directly: nothing listens on the gateway (the broker is
/// on a unix socket mounted into the proxy), secret guessed or not; a caller header sent
/// through the proxy is overwritten by nginx, so the record shows the real address.
fn only_the_proxy_reaches_the_broker(mounts: &[String], port: u16, log: &Path) {
    let name = "imds-spoof-test-forger";
    let script = format!(
        "curl -s -o /dev/null -w '%{{http_code}} ' http://169.254.0.1:{port}/latest/meta-data/; \
         curl -s -o /dev/null -w '%{{http_code}} ' -H 'X-Imds-Spoof-Secret: guess' -H 'X-Imds-Spoof-Caller: 169.254.9.9' http://169.254.0.1:{port}/latest/meta-data/; \
         curl -s -o /dev/null -w '%{{http_code}}' -H 'X-Imds-Spoof-Caller: 169.254.9.9' http://169.254.169.254/2021-07-15/meta-data/ami-id"
    );
    let out = run_client(name, &[], mounts, &["bash", "-c", &script]);
    assert_stdout(&out, "000 000 200");
    let record = wait_for_record(log, |r| r["path"] == "/2021-07-15/meta-data/ami-id");
    assert_eq!(record["caller_container"], name, "{record}");
    assert_ne!(record["caller_ip"], "169.254.9.9", "{record}");
}

fn identity_label_picks_worker(mounts: &[String], log: &Path) {
    let name = "imds-spoof-test-worker";
    let out = run_client(
        name,
        &["imds-spoof.identity=worker"],
        mounts,
        &CURL_INSTANCE_ID,
    );
    assert_stdout(&out, &Expected::sample_identity(1).instance_id);
    let record = wait_for_record(log, |r| r["caller_container"] == name);
    assert_eq!(record["identity"], "worker", "{record}");
}

/// `python /clients/botocore_check.py` expecting the default identity, then `extra`.
fn botocore_command(python: &Path, extra: &[&str]) -> Vec<String> {
    let mut command = vec![
        python.to_string_lossy().into_owned(),
        "/clients/botocore_check.py".to_string(),
    ];
    command.extend(expectation_args(&default_identity()));
    command.extend(extra.iter().map(|arg| arg.to_string()));
    command
}

fn botocore_without_env(python: &Path, mounts: &[String]) {
    let command = botocore_command(python, &["--expect-imds-version", "2"]);
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let out = run_client("imds-spoof-test-botocore", &[], mounts, &command);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    assert_eq!(
        report["endpoint"],
        serde_json::Value::Null,
        "no endpoint env var was set"
    );
    assert_eq!(report["fetcher_base_url"], "http://169.254.169.254/");
}

fn tokens_required(up: &Up, config: &Path, mounts: &[String]) {
    up.edit_config(config, "tokens = \"optional\"", "tokens = \"required\"");
    let script = "curl -s -o /dev/null -w '%{http_code} ' http://169.254.169.254/latest/meta-data/instance-id; \
        T=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token); \
        curl -s -o /dev/null -w '%{http_code}' -H \"X-aws-ec2-metadata-token: $T\" http://169.254.169.254/latest/meta-data/instance-id";
    let out = run_client(
        "imds-spoof-test-required",
        &[],
        mounts,
        &["bash", "-c", script],
    );
    assert_stdout(&out, "401 200");
    up.edit_config(config, "tokens = \"required\"", "tokens = \"optional\"");
}

fn hop_limit(up: &Up, config: &Path, mounts: &[String], python: Option<&Path>) {
    up.edit_config(config, "hop_limit = 2", "hop_limit = 1");
    // The token PUT gets no answer from a bridged container, as on EC2; v1 still works.
    let script = "curl -s -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token; echo \"put=$?\"; \
        curl -s http://169.254.169.254/latest/meta-data/instance-id";
    let out = run_client("imds-spoof-test-hop1", &[], mounts, &["bash", "-c", script]);
    assert_stdout(&out, &format!("put=28\n{}", default_identity().instance_id));
    if let Some(python) = python {
        let command = botocore_command(python, &["--expect-imds-version", "1"]);
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        let started = Instant::now();
        let out = run_client("imds-spoof-test-hop1-botocore", &[], mounts, &command);
        assert!(
            out.status.success(),
            "botocore falls back to v1: {}",
            text(&out)
        );
        // Its one-second token timeout is what makes the fallback slow.
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let out = run_client(
            "imds-spoof-test-hop1-v1-disabled",
            &[],
            mounts,
            &[
                &python.to_string_lossy(),
                "/clients/botocore_check.py",
                "--v1-disabled",
                "--expect-fail",
            ],
        );
        assert!(
            out.status.success(),
            "with v1 disabled botocore gets nothing: {}",
            text(&out)
        );
    }
    up.edit_config(config, "hop_limit = 1", "hop_limit = 2");
    let script = "curl -s -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/api/token";
    let out = run_client("imds-spoof-test-hop2", &[], mounts, &["bash", "-c", script]);
    assert_stdout(&out, "200");
}

fn a_second_live_run_is_refused(config: &Path, dir: &Path) {
    match Up::start(config, &[], &dir.join("second.err")) {
        Ok(_) => panic!("a second run started while the first is live"),
        Err((err, code)) => {
            assert_eq!(code, 8, "{err}");
            assert!(err.contains("another imds-spoof run (pid"), "{err}");
        }
    }
}

fn down_refuses_while_attached(config: &Path, mounts: &[String]) {
    start_idle_client("imds-spoof-test-app", &["--network", "imds-spoof"], mounts);
    let out = imds_spoof(config, &["down"], &[]);
    docker(&["rm", "-f", "imds-spoof-test-app"]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("imds-spoof-test-app"),
        "{}",
        text(&out)
    );
    assert!(!leftovers().0.is_empty(), "a refused down removes nothing");
}

/// The first request-log record matching `want`, waiting for the writer.
fn wait_for_record(log: &Path, want: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let read = || {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|r| want(r))
    };
    wait_for(Duration::from_secs(5), read).unwrap_or_else(|| {
        panic!(
            "no matching record in {}:\n{}",
            log.display(),
            support::read_lossy(log)
        )
    })
}
