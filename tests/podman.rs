//! Podman through its Docker-compatible API (docs/podman.md): `up` against rootful
//! Podman's socket finds the engine local (its bridge appears only with the first
//! container), mounts the broker's socket into the proxies, and containers Podman runs
//! get their identities. One run is shared by the scenarios, as on Docker:
//! - the active identity unlabelled, the label's through IMDS and the ECS door, a pod
//!   token's through the EKS door;
//! - an address given up (the container removed, or disconnected) and taken by another
//!   container is that container's at once, though Podman's events come late;
//! - a labelled pod's containers play its identity;
//! - botocore and aws-config in Podman containers through each door;
//! - task metadata v4 (container, task, stats) from Podman's answers;
//! - the README's compose example under podman-compose;
//! - the host refused, `status`, `doctor` through `[engine] socket`, and after `kill -9`
//!   `down` leaving nothing.
//!
//! Each test holds the engine lock, since Docker's and Podman's networks would both take
//! 169.254.0.0/16.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::clients::expectation_args;
use support::docker::*;
use support::need::{python, PODMAN_ROOTFUL_SOCKET, PODMAN_USER};
use support::{describe as text, identity, require_all, wait_for_records, Expected, Need};

const TEST: &str = "rootful_podman_serves_its_containers";
const IMDS: &str = "http://169.254.169.254/latest/meta-data/instance-id";
/// Where EKS mounts the projected service-account token.
const POD_TOKEN_PATH: &str =
    "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token";
/// Set in the child test process run inside a Podman container: what aws-config must
/// resolve there.
const CHILD_EXPECT_KEY: &str = "IMDS_SPOOF_PODMAN_CHILD_KEY";
const CHILD_EXPECT_REGION: &str = "IMDS_SPOOF_PODMAN_CHILD_REGION";
const CHILD_TEST: &str = "aws_config_in_a_podman_container_child";
/// Where the shared run's `up` writes its log, in the fixture's directory.
const UP_STDERR: &str = "up-podman-again.err";

fn podman(args: &[&str]) -> Output {
    Cli::Podman.run(args)
}

/// The shared rootful run: the engine, `up`'s request log, the client mounts.
struct Run {
    engine: EngineFixture,
    host: String,
    log: PathBuf,
    mounts: Vec<String>,
    python: Option<PathBuf>,
}

impl Run {
    fn env(&self) -> [(&str, &str); 1] {
        [("DOCKER_HOST", self.host.as_str())]
    }

    /// `curl -s URL` (after `curl_args`) in a client container Podman runs on the network
    /// with `run_args` (labels, `--ip`).
    fn curl(&self, run_args: &[&str], curl_args: &[&str], url: &str) -> String {
        let mut mounts: Vec<String> = run_args.iter().map(|arg| arg.to_string()).collect();
        mounts.extend(self.mounts.iter().cloned());
        let mut command = vec!["curl", "-s", "--max-time", "5"];
        command.extend(curl_args);
        command.push(url);
        let out = run_client_in(Cli::Podman, &unique_name("curl"), &[], &mounts, &command);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The instance id a running Podman container gets, asked from inside it.
fn instance_id_in(container: &str) -> String {
    let asked = podman(&["exec", container, "curl", "-s", "--max-time", "5", IMDS]);
    assert!(asked.status.success(), "{}", text(&asked));
    String::from_utf8_lossy(&asked.stdout).trim().to_string()
}

/// A container name of this test's, unique within the run.
fn unique_name(what: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "imds-spoof-test-podman-{what}-{}",
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

#[test]
fn rootful_podman_serves_its_containers() {
    if !require_all(
        &[Need::Docker, Need::OfflineImages, Need::PodmanRootful],
        TEST,
    ) {
        return;
    }
    // Docker's network of ours is swept first: Podman's takes the same subnet.
    let engine = EngineFixture::new();
    let python = python(&format!("{TEST} (botocore and podman-compose)"));
    let venv = python
        .as_ref()
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf));
    let run = Run {
        log: engine.dir.path().join("requests.jsonl"),
        host: format!("unix://{PODMAN_ROOTFUL_SOCKET}"),
        mounts: client_mounts(venv.as_deref()),
        python,
        engine,
    };
    let podman_image = Cli::Podman.image(NGINX_IMAGE);
    let log = run.log.to_string_lossy().into_owned();
    let start = |name: &str| {
        let stderr = run.engine.dir.path().join(format!("{name}.err"));
        Up::start_with_env(
            &run.engine.config,
            &["--proxy-image", &podman_image, "--log-requests", &log],
            &stderr,
            &run.env(),
        )
        .unwrap_or_else(|(err, code)| panic!("{name} on Podman failed ({code}): {err}"))
    };
    // The network stays after a clean stop (compose files name it); the next run reuses
    // it, though Podman's inspect leaves out the address range it was made with.
    let first = start("up-podman");
    assert_eq!(first.stop(), 0, "SIGTERM ends up cleanly");
    let up = start(UP_STDERR.trim_end_matches(".err"));
    let broker = up.ready["broker"].as_str().unwrap_or_default().to_string();
    assert!(
        broker.starts_with("unix:"),
        "the socket leg on Podman: {}",
        up.ready
    );
    assert!(
        up.stderr().contains("Podman") && up.stderr().contains("rootful"),
        "the engine is named: {}",
        up.stderr()
    );

    identities_by_label_and_token(&run);
    a_reused_address_is_its_new_holders(&run);
    a_pod_plays_the_identity_of_its_label(&run);
    task_metadata_from_podmans_answers(&run);
    aws_config_in_a_podman_container(&run);
    if let Some(python) = &run.python {
        botocore_through_each_door(&run, python);
        the_readmes_compose_example_under_podman_compose(&run, python);
    }

    assert_eq!(host_status(IMDS), "403", "the host is refused");
    let status = imds_spoof(&run.engine.config, &["status"], &run.env());
    assert!(
        status.status.success(),
        "status on Podman: {}",
        text(&status)
    );
    let said = String::from_utf8_lossy(&status.stdout);
    assert!(
        said.contains("engine   Podman 4") && said.contains("(rootful)"),
        "status names the engine: {said}"
    );
    doctor_finds_podman_through_the_configuration(&run);

    // kill -9: the run cannot clean up; `down` removes what it left in Podman.
    let mut up = up;
    up.child.kill().unwrap();
    let _ = up.child.wait();
    let down = imds_spoof(&run.engine.config, &["down"], &run.env());
    assert!(down.status.success(), "down on Podman: {}", text(&down));
    assert_eq!(
        leftovers_in(Cli::Podman),
        (String::new(), String::new()),
        "down leaves nothing"
    );
}

/// Unlabelled: the active identity; labelled worker: worker's, through IMDS and the ECS
/// door, the caller named from Podman's answers; a pod token naming worker: worker's keys
/// through the EKS door.
fn identities_by_label_and_token(run: &Run) {
    let default = Expected::sample_identity(0);
    let worker = Expected::sample_identity(1);
    assert_eq!(run.curl(&[], &[], IMDS).trim(), default.instance_id);
    let label = ["--label", "imds-spoof.identity=worker"];
    assert_eq!(run.curl(&label, &[], IMDS).trim(), worker.instance_id);
    let ecs = run.curl(&label, &[], "http://169.254.170.2/v2/credentials/worker");
    assert!(ecs.contains(&worker.access_key), "{ecs}");
    let records = wait_for_records(&run.log, |records| {
        records
            .iter()
            .any(|r| r["door"] == "ecs" && r["identity_origin"] == "label")
    });
    let record = records
        .iter()
        .find(|r| r["door"] == "ecs" && r["identity_origin"] == "label")
        .unwrap();
    assert_eq!(record["identity"], "worker", "{record}");
    assert!(
        record["caller_container"]
            .as_str()
            .is_some_and(|name| name.starts_with("imds-spoof-test-podman-curl-")),
        "{record}"
    );

    let token = pod_token(run);
    let authorization = format!("Authorization: {}", std::fs::read_to_string(token).unwrap());
    let eks = run.curl(
        &[],
        &["-H", &authorization],
        "http://169.254.170.23/v1/credentials",
    );
    assert!(eks.contains(&worker.access_key), "{eks}");
}

/// `imds-spoof token --identity worker` into the run's directory.
fn pod_token(run: &Run) -> PathBuf {
    let out = run.engine.dir.path().join("pod-token");
    let made = imds_spoof(
        &run.engine.config,
        &[
            "token",
            "--identity",
            &identity(1).name,
            "--out",
            &out.to_string_lossy(),
        ],
        &run.env(),
    );
    assert!(made.status.success(), "{}", text(&made));
    out
}

/// Podman reads its events back from a file, so a container's `die` can reach imds-spoof
/// after the next container at the same address already asks; and Podman 4 sends no
/// network event for `run --network`. Worker's container leaves an address, an unlabelled
/// one takes it at once and must get the active identity, twice over; then the same
/// through `podman network connect` and `disconnect`.
fn a_reused_address_is_its_new_holders(run: &Run) {
    let default = Expected::sample_identity(0).instance_id;
    let worker = Expected::sample_identity(1).instance_id;
    let address = ["--ip", "169.254.0.50"];
    let labelled = [
        "--ip",
        "169.254.0.50",
        "--label",
        "imds-spoof.identity=worker",
    ];
    for round in 1..=3 {
        assert_eq!(
            run.curl(&labelled, &[], IMDS).trim(),
            worker,
            "round {round}"
        );
        assert_eq!(
            run.curl(&address, &[], IMDS).trim(),
            default,
            "round {round}: the address's new holder is answered as the old one"
        );
    }
    let name = unique_name("connect");
    let label = ["--label", "imds-spoof.identity=worker"];
    start_client_in(Cli::Podman, &name, &label, &run.mounts, &["sleep", "120"]);
    let connect = podman(&[
        "network",
        "connect",
        "--ip",
        "169.254.0.51",
        "imds-spoof",
        &name,
    ]);
    assert!(connect.status.success(), "{}", text(&connect));
    assert_eq!(instance_id_in(&name), worker);
    let disconnect = podman(&["network", "disconnect", "imds-spoof", &name]);
    assert!(disconnect.status.success(), "{}", text(&disconnect));
    assert_eq!(
        run.curl(&["--ip", "169.254.0.51"], &[], IMDS).trim(),
        default,
        "the address a disconnected container left"
    );
    podman(&["rm", "-f", "-t", "0", &name]);
}

/// A pod's containers share its address: the pod is the caller, and its label (which
/// Podman puts on the pod's infra container) chooses the identity of every container in
/// it, labelled or not.
fn a_pod_plays_the_identity_of_its_label(run: &Run) {
    let pod = "imds-spoof-test-pod";
    let created = podman(&[
        "pod",
        "create",
        "--name",
        pod,
        "--network",
        "imds-spoof",
        "--label",
        TEST_LABEL,
        "--label",
        "imds-spoof.identity=worker",
    ]);
    assert!(created.status.success(), "{}", text(&created));
    // In the pod's network, not one of its own: no --network.
    let ask_in_pod = |labels: &[&str]| {
        let image = Cli::Podman.image(CLIENT_IMAGE);
        let mut args = vec!["run", "--rm", "--pod", pod, "--label", TEST_LABEL];
        args.extend(labels);
        args.extend(run.mounts.iter().map(String::as_str));
        args.extend([image.as_str(), "curl", "-s", "--max-time", "5", IMDS]);
        let out = podman(&args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let worker = Expected::sample_identity(1).instance_id;
    assert_eq!(ask_in_pod(&[]), worker);
    // A container of the pod labelled otherwise: still the pod's identity, and the log
    // says why its label does not choose.
    let member = unique_name("pod-member");
    let run_args = ["--pod", pod, "--label", "imds-spoof.identity=default"];
    start_client_in(
        Cli::Podman,
        &member,
        &run_args,
        &run.mounts,
        &["sleep", "60"],
    );
    assert_eq!(instance_id_in(&member), worker);
    let up_stderr = || std::fs::read_to_string(run.engine.dir.path().join(UP_STDERR)).unwrap();
    let said = support::wait_for(std::time::Duration::from_secs(10), || {
        Some(up_stderr()).filter(|stderr| {
            stderr.contains("is labelled imds-spoof.identity=default but shares the network")
        })
    });
    assert!(
        said.is_some(),
        "no word of the pod member's label: {}",
        up_stderr()
    );
    podman(&["pod", "rm", "-f", pod]);
}

/// A container curls `/v4/self`, `/task` and `/stats` at the ECS door: its own container
/// and task from Podman's inspect, and stats from Podman's stats stream, with the id and
/// name as Docker gives them (Podman 4 leaves the id out).
fn task_metadata_from_podmans_answers(run: &Run) {
    let name = unique_name("v4");
    let script = "URI=http://169.254.170.2/v4/self; hostname; \
                  curl -sS $URI; echo; curl -sS $URI/task; echo; curl -sS $URI/stats; echo";
    let mut run_args = vec![
        "--memory=64m".to_string(),
        "--label=team=payments".to_string(),
    ];
    run_args.extend(run.mounts.iter().cloned());
    let out = run_client_in(Cli::Podman, &name, &[], &run_args, &["sh", "-c", script]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", text(&out));
    let parse = |line: &str| -> Value {
        serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"))
    };
    let container = parse(lines[1]);
    let id = container["DockerId"].as_str().unwrap().to_string();
    assert!(id.starts_with(lines[0].trim()), "{container}");
    assert_eq!(container["DockerName"], name.as_str());
    assert_eq!(container["Image"], Cli::Podman.image(CLIENT_IMAGE).as_str());
    assert_eq!(container["Labels"]["team"], "payments");
    assert_eq!(container["Limits"]["Memory"], 64, "{container}");
    let task = parse(lines[2]);
    assert_eq!(task["Containers"][0]["DockerId"], id.as_str(), "{task}");
    let stats = parse(lines[3]);
    assert_eq!(stats["id"], id.as_str(), "{stats}");
    assert_eq!(stats["name"], format!("/{name}").as_str(), "{stats}");
    assert!(
        stats["memory_stats"]["usage"].as_u64().unwrap() > 0,
        "{stats}"
    );
    assert_eq!(stats["memory_stats"]["limit"], 64 * 1024 * 1024, "{stats}");
    assert!(
        stats["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0,
        "{stats}"
    );
}

/// aws-config, the Rust SDK's own providers, in Podman containers: this test binary runs
/// its child test inside one. Unlabelled through IMDS (credentials and region); labelled
/// worker through the ECS door with the relative URI an ECS task has.
fn aws_config_in_a_podman_container(run: &Run) {
    let binary = std::env::current_exe().unwrap();
    let default = Expected::sample_identity(0);
    let worker = Expected::sample_identity(1);
    for (labels, env, expected) in [
        (vec![], vec![], &default),
        (
            vec!["imds-spoof.identity=worker"],
            vec!["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/self"],
            &worker,
        ),
    ] {
        let mut run_args = vec![format!("--volume={}:/podman-test:ro", binary.display())];
        for variable in env {
            run_args.push(format!("--env={variable}"));
        }
        run_args.push(format!("--env={CHILD_EXPECT_KEY}={}", expected.access_key));
        run_args.push(format!("--env={CHILD_EXPECT_REGION}={}", expected.region));
        run_args.extend(run.mounts.iter().cloned());
        let command = [
            "/podman-test",
            CHILD_TEST,
            "--exact",
            "--ignored",
            "--nocapture",
        ];
        let out = run_client_in(
            Cli::Podman,
            &unique_name("aws-config"),
            &labels,
            &run_args,
            &command,
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "aws-config in a Podman container: {}",
            text(&out)
        );
    }
}

/// The child of the scenario above, run inside a Podman container; does nothing unless
/// that scenario set its variables.
#[tokio::test]
#[ignore = "run inside a Podman container by rootful_podman_serves_its_containers"]
async fn aws_config_in_a_podman_container_child() {
    let (Ok(key), Ok(region)) = (
        std::env::var(CHILD_EXPECT_KEY),
        std::env::var(CHILD_EXPECT_REGION),
    ) else {
        return;
    };
    let resolved = if std::env::var_os("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some() {
        support::aws::resolve_container().await
    } else {
        let resolved = support::aws::resolve("http://169.254.169.254").await;
        if let Ok(resolved) = &resolved {
            assert_eq!(resolved.region.as_deref(), Some(region.as_str()));
        }
        resolved
    }
    .expect("aws-config resolves credentials");
    assert_eq!(resolved.access_key, key);
}

/// botocore in Podman containers: the default chain through IMDS (v2), an ECS task
/// labelled worker with the relative URI, an EKS pod with worker's token file.
fn botocore_through_each_door(run: &Run, python: &Path) {
    let python = python.to_string_lossy().into_owned();
    let default = Expected::sample_identity(0);
    let worker = Expected::sample_identity(1);
    let check = |labels: &[&str], extra_run: &[String], script: &[String]| {
        let mut run_args = extra_run.to_vec();
        run_args.extend(run.mounts.iter().cloned());
        let mut command = vec![python.clone()];
        command.extend(script.iter().cloned());
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        let out = run_client_in(
            Cli::Podman,
            &unique_name("botocore"),
            labels,
            &run_args,
            &command,
        );
        assert!(out.status.success(), "{}", text(&out));
    };
    let mut imds = vec!["/clients/botocore_check.py".to_string()];
    imds.extend(expectation_args(&default));
    imds.extend(["--expect-imds-version".into(), "2".into()]);
    check(&[], &[], &imds);

    let mut ecs = vec![
        "/clients/container_check.py".to_string(),
        "--relative-uri".into(),
        "/v2/credentials/worker".into(),
        "--expect-account-id".into(),
        identity(1).account_id.clone(),
    ];
    ecs.extend(worker.client_args());
    check(&["imds-spoof.identity=worker"], &[], &ecs);

    let token = pod_token(run);
    let mut eks = vec![
        "/clients/container_check.py".to_string(),
        "--full-uri".into(),
        "http://169.254.170.23/v1/credentials".into(),
        "--token-file".into(),
        POD_TOKEN_PATH.into(),
        "--expect-account-id".into(),
        identity(1).account_id.clone(),
    ];
    eks.extend(worker.client_args());
    check(
        &[],
        &[format!("--volume={}:{POD_TOKEN_PATH}:ro", token.display())],
        &eks,
    );
}

/// The README's compose example run by podman-compose (from PyPI, in the clients' venv).
fn the_readmes_compose_example_under_podman_compose(run: &Run, python: &Path) {
    let tool = python.with_file_name("podman-compose");
    assert!(
        tool.exists(),
        "{} is missing: bash scripts/python-env.sh installs it",
        tool.display()
    );
    let example = support::compose::ReadmeExample::write(
        &run.engine.config,
        run.engine.dir.path(),
        &run.mounts,
        &Cli::Podman.image(CLIENT_IMAGE),
        &run.env(),
    );
    example.run_and_check(&tool);
}

/// `[engine] socket` chooses Podman without DOCKER_HOST.
fn doctor_finds_podman_through_the_configuration(run: &Run) {
    let config = &run.engine.config;
    let before = std::fs::read_to_string(config).unwrap();
    std::fs::write(
        config,
        format!("{before}\n[engine]\nsocket = \"{}\"\n", run.host),
    )
    .unwrap();
    let doctor = Command::new(support::server::BIN)
        .arg("--config")
        .arg(config)
        .arg("doctor")
        .env_remove("DOCKER_HOST")
        .env_remove("CONTAINER_HOST")
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        found.contains("Podman") && found.contains("found through [engine] socket"),
        "{found}"
    );
}

/// The same run as an unprivileged user on rootless Podman: its networks live in the
/// user's network namespace (the host cannot reach the proxies; the namespace itself
/// comes from the gateway and is refused), the broker's socket is in the user's runtime
/// directory, mounted into the proxies, and the proxy-leg attack captures nothing.
#[test]
fn rootless_podman_serves_its_containers() {
    let test = "rootless_podman_serves_its_containers";
    if !require_all(
        &[
            Need::Docker,
            Need::OfflineImages,
            Need::Root,
            Need::PodmanRootless,
        ],
        test,
    ) {
        return;
    }
    // Docker's network is swept first: netavark refuses a subnet a host interface has.
    let engine = EngineFixture::new();
    let uid = support::need::user_id(PODMAN_USER).expect("the Podman test user");
    let runtime = format!("/run/user/{uid}");
    let host = format!("unix://{runtime}/podman/podman.sock");
    // The binary and a configuration the user can read (the fixture's directory is root's).
    let dir = tempfile::Builder::new()
        .prefix("imds-spoof-rootless")
        .tempdir_in("/tmp")
        .unwrap();
    let bin = dir.path().join("imds-spoof");
    std::fs::copy(support::server::BIN, &bin).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::copy(&engine.config, &config).unwrap();
    let chown = Command::new("chown")
        .args(["-R", PODMAN_USER])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(chown.status.success(), "{}", text(&chown));
    let as_user = |program: &std::path::Path| {
        let mut command = Command::new("runuser");
        command
            .args(["-u", PODMAN_USER, "--", "env"])
            .arg(format!("XDG_RUNTIME_DIR={runtime}"))
            .arg(format!("HOME={}", dir.path().display()))
            .arg(format!("DOCKER_HOST={host}"))
            .arg(program);
        command
    };
    let image = format!("localhost/{NGINX_IMAGE}");
    let mut up = as_user(&bin);
    up.arg("--config")
        .arg(&config)
        .args(["up", "--json", "--proxy-image", &image]);
    up.env("IMDS_SPOOF_LOG", "info");
    let stderr = engine.dir.path().join("up-rootless.err");
    let up = Up::spawn(up, &stderr)
        .unwrap_or_else(|(err, code)| panic!("up on rootless Podman failed ({code}): {err}"));
    let broker = up.ready["broker"].as_str().unwrap_or_default().to_string();
    assert!(
        broker.starts_with(&format!("unix:{runtime}/")),
        "the broker's socket in the user's runtime directory: {}",
        up.ready
    );
    assert!(up.stderr().contains("(rootless)"), "{}", up.stderr());
    // The network's line (the dashboard's status bar shows it) names the engine.
    assert!(
        up.stderr().contains("on Podman 4") || up.stderr().contains("on Podman 5"),
        "{}",
        up.stderr()
    );

    // The podman command keeps its storage under the user's own home, as the service does.
    let podman_as_user = |args: &[&str]| Cli::PodmanRootless.run(args);
    // curl from the host's /usr (the user cannot read the other client mounts), after
    // `run_args` (labels, `--ip`) and with `curl_args` (headers).
    let curl = |run_args: &[&str], curl_args: &[&str], url: &str| {
        let client = Cli::Podman.image(CLIENT_IMAGE);
        let mut args = vec![
            "run",
            "--rm",
            "--network",
            "imds-spoof",
            "--volume=/usr:/usr:ro",
        ];
        args.extend(run_args);
        args.extend([client.as_str(), "curl", "-s", "--max-time", "5"]);
        args.extend(curl_args);
        args.push(url);
        let out = podman_as_user(&args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let default = Expected::sample_identity(0);
    let worker = Expected::sample_identity(1);
    assert_eq!(curl(&[], &[], IMDS).trim(), default.instance_id);
    let label = ["--label", "imds-spoof.identity=worker"];
    assert_eq!(curl(&label, &[], IMDS).trim(), worker.instance_id);
    let ecs = curl(&label, &[], "http://169.254.170.2/v2/credentials/worker");
    assert!(ecs.contains(&worker.access_key), "{ecs}");
    // The EKS door: a token the user makes with its own configuration.
    let token = dir.path().join("pod-token");
    let mut made = as_user(&bin);
    made.arg("--config")
        .arg(&config)
        .args(["token", "--identity", "worker", "--out"])
        .arg(&token);
    let made = made.output().unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let authorization = format!(
        "Authorization: {}",
        std::fs::read_to_string(&token).unwrap()
    );
    let eks = curl(
        &[],
        &["-H", &authorization],
        "http://169.254.170.23/v1/credentials",
    );
    assert!(eks.contains(&worker.access_key), "{eks}");
    // An address worker's container gave up, taken at once by an unlabelled one.
    let labelled = [
        "--ip",
        "169.254.0.50",
        "--label",
        "imds-spoof.identity=worker",
    ];
    assert_eq!(curl(&labelled, &[], IMDS).trim(), worker.instance_id);
    let unlabelled = ["--ip", "169.254.0.50"];
    assert_eq!(curl(&unlabelled, &[], IMDS).trim(), default.instance_id);
    // The user's network namespace reaches the proxies from the bridge's gateway, as the
    // host does with rootful engines: refused, never a caller.
    let mut ask = vec!["unshare", "--rootless-netns", "curl"];
    ask.extend(CURL_STATUS_ONLY);
    ask.push(IMDS);
    let from_gateway = podman_as_user(&ask);
    assert_eq!(
        String::from_utf8_lossy(&from_gateway.stdout),
        "403",
        "{}",
        text(&from_gateway)
    );

    // The proxy leg cannot be captured here either (the attacker's mounts: the host's /usr
    // and tests/clients, which the user can read; the capture into a directory of its own).
    let capture = dir.path().join("capture");
    std::fs::create_dir(&capture).unwrap();
    let chown = Command::new("chown")
        .arg(PODMAN_USER)
        .arg(&capture)
        .output()
        .unwrap();
    assert!(chown.status.success(), "{}", text(&chown));
    support::leg::attack_the_leg(
        Cli::PodmanRootless,
        &["--volume=/usr:/usr:ro".to_string()],
        &capture,
    );

    // kill -9 of the run, then `down` as the user removes what it left.
    let killed = Command::new("pkill")
        .args(["-KILL", "-u", PODMAN_USER, "-f"])
        .arg(bin.to_string_lossy().as_ref())
        .output()
        .unwrap();
    assert!(killed.status.success(), "{}", text(&killed));
    drop(up);
    let mut down = as_user(&bin);
    down.arg("--config").arg(&config).arg("down");
    let down = down.output().unwrap();
    assert!(
        down.status.success(),
        "down on rootless Podman: {}",
        text(&down)
    );
    let left = |args: &[&str]| {
        String::from_utf8_lossy(&podman_as_user(args).stdout)
            .trim()
            .to_string()
    };
    let filter = "label=imds-spoof.managed=true";
    assert_eq!(
        left(&["ps", "-a", "-q", "--filter", filter]),
        "",
        "no container left"
    );
    assert_eq!(
        left(&["network", "ls", "-q", "--filter", filter]),
        "",
        "no network left"
    );
}
