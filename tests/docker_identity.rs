//! Containers as instances (docs/architecture.md, "Containers are instances") against the real engine: every request of a
//! just-started container is answered with its own identity, tokens belong to the
//! container that asked, `assign` moves a container live and across restarts, the host and
//! foreign Host headers are refused, and callers the engine cannot name get what the
//! configuration says. One test function: the scenarios share the fixed network.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::docker::*;
use support::{describe as text, identity, require_all, wait_for_records, wait_until, Need};

const TEST: &str = "containers_are_instances_on_the_real_engine";

#[test]
fn containers_are_instances_on_the_real_engine() {
    if !require_all(&[Need::Docker, Need::OfflineImages, Need::Curl], TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let (config, dir) = (&engine.config, &engine.dir);
    let mounts = client_mounts(None);
    let (up, log) = engine.up_logging("up1");

    every_first_request_names_its_own_container(&mounts, &log);
    a_token_works_only_in_its_container(&mounts);
    the_host_and_foreign_hosts_are_refused(&mounts);
    let up = assign_moves_a_container_live_and_for_good(up, config, &mounts, dir.path());
    assert_eq!(up.stop(), 0, "SIGTERM ends up cleanly");

    callers_the_engine_cannot_name(config, &mounts, dir.path());
}

/// 20 containers one after another (Docker hands out the address the previous one just
/// freed), labels alternating, each asking IMDS the moment it starts and then again with a
/// token: every answer is its own identity's, every record names it.
fn every_first_request_names_its_own_container(mounts: &[String], log: &Path) {
    const ASK: &str = "B=http://169.254.169.254/latest; \
        curl -s $B/meta-data/instance-id; echo; \
        curl -s $B/meta-data/instance-id; echo; \
        T=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' $B/api/token); \
        curl -s -H \"X-aws-ec2-metadata-token: $T\" $B/meta-data/instance-id; echo; \
        hostname -i";
    let mut addresses = Vec::new();
    for index in 0..20 {
        let expected = identity(index % 2);
        let name = format!("imds-spoof-test-first-{index}");
        let label = format!("imds-spoof.identity={}", expected.name);
        let out = run_client(&name, &[&label], mounts, &["bash", "-c", ASK]);
        assert!(out.status.success(), "{name}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines[..3],
            [expected.instance_id.as_str(); 3],
            "{name} (labelled {}) saw another instance: {stdout}",
            expected.name
        );
        addresses.push(lines.get(3).unwrap_or(&"?").trim().to_string());
    }
    let records = wait_for_records(log, |records| {
        (0..20).all(|index| {
            let name = format!("imds-spoof-test-first-{index}");
            records
                .iter()
                .filter(|r| r["caller_container"] == name.as_str())
                .count()
                == 4
        })
    });
    for index in 0..20 {
        let name = format!("imds-spoof-test-first-{index}");
        let expected = identity(index % 2);
        for record in records
            .iter()
            .filter(|r| r["caller_container"] == name.as_str())
        {
            assert_eq!(record["identity"], expected.name.as_str(), "{record}");
            assert_eq!(record["identity_origin"], "label", "{record}");
        }
    }
    let unnamed: Vec<_> = records
        .iter()
        // The readiness probes (one per door, from the host) are nobody's.
        .filter(|r| r["caller_container"].is_null() && !is_readiness_probe(r))
        .collect();
    assert!(
        unnamed.is_empty(),
        "requests credited to nobody: {unnamed:?}"
    );
    addresses.sort();
    addresses.dedup();
    eprintln!("20 containers used {} distinct addresses", addresses.len());
}

/// A token PUT by container A: 401 in container B, 200 in A.
fn a_token_works_only_in_its_container(mounts: &[String]) {
    let a = start_idle_client(
        "imds-spoof-test-token-a",
        &["--network", "imds-spoof"],
        mounts,
    );
    let b = start_idle_client(
        "imds-spoof-test-token-b",
        &["--network", "imds-spoof"],
        mounts,
    );
    let put = docker(&[
        "exec",
        &a,
        "curl",
        "-s",
        "-X",
        "PUT",
        "-H",
        "X-aws-ec2-metadata-token-ttl-seconds: 60",
        "http://169.254.169.254/latest/api/token",
    ]);
    let token = String::from_utf8_lossy(&put.stdout).trim().to_string();
    assert_eq!(token.len(), 56, "{}", text(&put));
    let header = format!("H=X-aws-ec2-metadata-token: {token}");
    let status_in = |container: &str| {
        let script = "curl -s -o /dev/null -w '%{http_code}' -H \"$H\" \
            http://169.254.169.254/latest/meta-data/instance-id";
        let out = docker(&["exec", "-e", &header, container, "bash", "-c", script]);
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(status_in(&b), "401", "another container's token");
    assert_eq!(status_in(&a), "200", "the container's own token");
    docker(&["rm", "-f", &a, &b]);
}

/// The host reaches 169.254.169.254 through the bridge: refused by default, and so is any
/// request whose Host is not IMDS's; containers are not affected.
fn the_host_and_foreign_hosts_are_refused(mounts: &[String]) {
    let from_host = |host: &str| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-m", "3", "-w", "\n%{http_code}", "-H"])
            .arg(format!("Host: {host}"))
            .arg(format!(
                "http://169.254.169.254/latest/meta-data/iam/security-credentials/{}",
                identity(0).role.as_ref().expect("role").name
            ))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    for host in ["169.254.169.254", "evil.com"] {
        let answer = from_host(host);
        assert!(answer.ends_with("\n403"), "host with Host {host}: {answer}");
        assert!(!answer.contains("SecretAccessKey"), "{answer}");
    }
    let script = "curl -s -o /dev/null -w '%{http_code} ' -H 'Host: evil.com' \
        http://169.254.169.254/latest/meta-data/instance-id; \
        curl -s -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/instance-id";
    let out = run_client(
        "imds-spoof-test-hosts",
        &[],
        mounts,
        &["bash", "-c", script],
    );
    assert_stdout(&out, "403 200");
}

/// `assign` while `up` runs: the container's next request answers with the new identity;
/// a new run keeps it (the rule is in the file); `--clear` gives the label back.
fn assign_moves_a_container_live_and_for_good(
    up: Up,
    config: &Path,
    mounts: &[String],
    dir: &Path,
) -> Up {
    let name = "imds-spoof-test-assign";
    let label = format!("imds-spoof.identity={}", identity(0).name);
    let id = start_idle_client(
        name,
        &["--network", "imds-spoof", "--label", &label],
        mounts,
    );
    let ask = || {
        let out = docker(&[&["exec", id.as_str()][..], &CURL_INSTANCE_ID[..]].concat());
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(ask(), identity(0).instance_id);

    let assign = |args: &[&str]| {
        let reloads = up_reloads(&up);
        let out = imds_spoof(config, &[&["assign", name][..], args].concat(), &[]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            wait_until(Duration::from_secs(10), || up_reloads(&up) > reloads),
            "up did not reload after assign: {}",
            up.stderr()
        );
    };
    assign(&[&identity(1).name]);
    assert_eq!(
        ask(),
        identity(1).instance_id,
        "the next request after assign"
    );
    let text_now = std::fs::read_to_string(config).expect("config");
    assert!(text_now.contains("[[container]]"), "{text_now}");
    assert!(
        text_now.contains("# HttpPutResponseHopLimit."),
        "comments kept"
    );

    assert_eq!(up.stop(), 0);
    let up = Up::start(config, &[], &dir.join("up2.err"))
        .unwrap_or_else(|(err, code)| panic!("second up failed ({code}): {err}"));
    assert_eq!(
        ask(),
        identity(1).instance_id,
        "the rule survives a restart"
    );

    let reloads = up_reloads(&up);
    let out = imds_spoof(config, &["assign", name, "--clear"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(wait_until(Duration::from_secs(10), || up_reloads(&up) > reloads));
    assert_eq!(ask(), identity(0).instance_id, "back to the label");

    let unknown = imds_spoof(config, &["assign", name, "nobody"], &[]);
    assert!(!unknown.status.success());
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("names no [[identity]]") && err.contains("config.toml:"),
        "{err}"
    );
    docker(&["rm", "-f", &id]);
    up
}

fn up_reloads(up: &Up) -> usize {
    up.stderr().matches("configuration reloaded").count()
}

/// `up` talking to the engine through a socket this test can cut: once cut, a container
/// the run has never seen is refused (EC2's 500) and the run says why; with
/// `unresolved = "active"` it gets the active identity.
fn callers_the_engine_cannot_name(config: &Path, mounts: &[String], dir: &Path) {
    let forwarder = EngineForwarder::start(dir.join("engine.sock"));
    let docker_host = format!("unix://{}", forwarder.path.display());
    let up = Up::start_with_env(
        config,
        &[],
        &dir.join("up3.err"),
        &[("DOCKER_HOST", docker_host.as_str())],
    )
    .unwrap_or_else(|(err, code)| panic!("up through the forwarder failed ({code}): {err}"));
    forwarder.cut();

    let script = "curl -s -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/instance-id";
    let out = run_client(
        "imds-spoof-test-unnamed",
        &[],
        mounts,
        &["bash", "-c", script],
    );
    assert_stdout(&out, "500");
    assert!(
        wait_until(Duration::from_secs(5), || up
            .stderr()
            .contains("cannot be named")),
        "no warning in up's log: {}",
        up.stderr()
    );

    up.edit_config(config, "unresolved = \"refuse\"", "unresolved = \"active\"");
    let out = run_client("imds-spoof-test-unnamed-2", &[], mounts, &CURL_INSTANCE_ID);
    assert_stdout(&out, &identity(0).instance_id);

    // The engine back, so the run can remove its proxy on the way out.
    forwarder.resume();
    assert_eq!(up.stop(), 0, "up stops cleanly once the engine is back");
}

/// A unix socket that passes everything to the real engine's socket until cut: the engine
/// "goes away" for the process using it, not for the rest of the machine.
struct EngineForwarder {
    path: PathBuf,
    state: Arc<ForwarderState>,
}

#[derive(Default)]
struct ForwarderState {
    cut: AtomicBool,
    streams: Mutex<Vec<UnixStream>>,
}

impl EngineForwarder {
    fn start(path: PathBuf) -> EngineForwarder {
        let forwarder = EngineForwarder {
            path,
            state: Arc::default(),
        };
        forwarder.listen();
        forwarder
    }

    fn listen(&self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = UnixListener::bind(&self.path).expect("bind the forwarder socket");
        let state = self.state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if state.cut.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(engine) = UnixStream::connect("/var/run/docker.sock") else {
                    continue;
                };
                {
                    let mut streams = state.streams.lock().expect("streams");
                    streams.extend(
                        [client.try_clone(), engine.try_clone()]
                            .into_iter()
                            .flatten(),
                    );
                }
                pipe(&client, &engine);
                pipe(&engine, &client);
            }
        });
    }

    /// Every connection closed, and no new one accepted.
    fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for stream in self.state.streams.lock().expect("streams").drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        // Wake the accept loop so it sees the cut and drops the listener.
        let _ = UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
    }

    fn resume(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
        self.listen();
    }
}

/// Copies `from` into `to` on a thread until either side closes.
fn pipe(from: &UnixStream, to: &UnixStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 || to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// A record of the readiness probe `up` sends to each door from the host.
fn is_readiness_probe(record: &serde_json::Value) -> bool {
    record["request_headers"].as_array().is_some_and(|headers| {
        headers
            .iter()
            .any(|pair| pair[0] == "user-agent" && pair[1] == "imds-spoof-health")
    })
}
