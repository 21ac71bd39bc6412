//! The ECS and EKS doors on the real engine (docs/architecture.md "Three doors",
//! docs/protocol.md §7–§8): `up` starts a proxy container per door at 169.254.170.2 and 169.254.170.23, the network keeps
//! those addresses from application containers, botocore's container provider resolves
//! credentials in a container through each door (RELATIVE_URI as in an ECS task, FULL_URI
//! with a pod token file as in an EKS pod), a forged door header reaches no other door, and
//! a door switched off in the configuration goes away and comes back.
//! One test function: the scenarios share the fixed network.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::docker::*;
use support::need::python;
use support::{
    describe as text, identity, require_all, wait_for_records, wait_until, Expected, Need,
};

const TEST: &str = "doors_on_the_real_engine";
/// Where EKS mounts the projected service-account token.
const POD_TOKEN_PATH: &str =
    "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token";

#[test]
fn doors_on_the_real_engine() {
    if !require_all(&[Need::Docker, Need::OfflineImages, Need::Curl], TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let config = &engine.config;
    let python = python(&format!("{TEST} (botocore in a container)"));
    let venv = python
        .as_ref()
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf));
    let mounts = client_mounts(venv.as_deref());

    let (up, log) = engine.up_logging("up-doors");
    assert_eq!(
        up.ready["doors"]["ecs"]["urls"][0], "http://169.254.170.2",
        "{}",
        up.ready
    );
    assert_eq!(
        up.ready["doors"]["eks"]["urls"][0], "http://169.254.170.23",
        "{}",
        up.ready
    );
    each_door_is_a_labelled_proxy_container();
    status_and_doctor_show_each_door(config);
    the_network_keeps_the_door_addresses_from_containers(&mounts);
    if let Some(python) = &python {
        botocore_in_an_ecs_task_resolves_the_named_identity(python, &mounts, &log);
        let token = pod_token(config, engine.dir.path());
        botocore_in_an_eks_pod_resolves_the_token_identity(python, &mounts, &token);
        // "Expire now" (the dashboard pins worker's Expiration in the past): the doors
        // renew it as the agents would, and both SDKs keep resolving worker's keys.
        let worker_key = format!(
            "access_key_id = \"{}\"",
            Expected::sample_identity(1).access_key
        );
        let pinned = format!("{worker_key}\nexpiration = \"2020-01-01T00:00:00Z\"");
        up.edit_config(config, &worker_key, &pinned);
        botocore_in_an_ecs_task_resolves_the_named_identity(python, &mounts, &log);
        botocore_in_an_eks_pod_resolves_the_token_identity(python, &mounts, &token);
        up.edit_config(config, &pinned, &worker_key);
    }
    another_identity_is_not_served_by_name(&mounts);
    the_readmes_compose_example_works_as_written(config, engine.dir.path(), &mounts);
    a_forged_door_header_reaches_no_other_door(&mounts, &log);
    a_door_switched_off_goes_away_and_comes_back(&up, config, &mounts);
    assert_eq!(up.stop(), 0, "SIGTERM ends up cleanly");
    let (containers, _) = leftovers();
    assert_eq!(containers, "", "every proxy container is removed on stop");
    a_network_without_the_reservation_is_not_reused(config, engine.dir.path());
}

/// A network of ours made before the door addresses were reserved (no IPv4 range) would
/// let Docker hand them out: `up` refuses it and says how to replace it.
fn a_network_without_the_reservation_is_not_reused(config: &Path, dir: &Path) {
    docker(&["network", "rm", "imds-spoof"]);
    let made = docker(&[
        "network",
        "create",
        "--subnet",
        "169.254.0.0/16",
        "--gateway",
        "169.254.0.1",
        "--label",
        "imds-spoof.managed=true",
        "imds-spoof",
    ]);
    assert!(made.status.success(), "{}", text(&made));
    match Up::start(config, &[], &dir.join("up-old-network.err")) {
        Ok(_) => panic!("up reused a network that lets containers take the door addresses"),
        Err((err, code)) => {
            assert_eq!(code, 5, "{err}");
            assert!(err.contains("without the address range"), "{err}");
            assert!(err.contains("imds-spoof down"), "{err}");
        }
    }
}

/// Three nginx containers, each with our labels and its door's address.
fn each_door_is_a_labelled_proxy_container() {
    for (name, door, ip) in [
        ("imds-spoof-proxy", "imds", "169.254.169.254"),
        ("imds-spoof-ecs", "ecs", "169.254.170.2"),
        ("imds-spoof-eks", "eks", "169.254.170.23"),
    ] {
        let out = docker(&[
            "inspect",
            "-f",
            "{{index .Config.Labels \"imds-spoof.managed\"}} {{index .Config.Labels \"imds-spoof.door\"}} {{(index .NetworkSettings.Networks \"imds-spoof\").IPAddress}}",
            name,
        ]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("true {door} {ip}"),
            "{}",
            text(&out)
        );
    }
}

/// `status` has a line per door, answering through its container; `doctor` checks each.
fn status_and_doctor_show_each_door(config: &Path) {
    let status = imds_spoof(config, &["status"], &[]);
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{}", text(&status));
    for line in [
        "ecs      imds-spoof-ecs: running at http://169.254.170.2, answering (GET /v2/credentials -> 403",
        "eks      imds-spoof-eks: running at http://169.254.170.23, answering (GET /v1/credentials -> 403",
    ] {
        assert!(out.contains(line), "no {line:?} in\n{out}");
    }
    let doctor = imds_spoof(config, &["doctor"], &[]);
    let out = String::from_utf8_lossy(&doctor.stdout);
    for door in ["ecs", "eks"] {
        let line = out
            .lines()
            .find(|line| line.contains(&format!("{door} door")))
            .unwrap_or_else(|| panic!("doctor has no {door} door line:\n{out}"));
        assert!(
            line.contains(&format!("answers through imds-spoof-{door}")),
            "{line}\n{out}"
        );
    }
}

/// The IPv4 pool gives containers 169.254.0.0/17 only (no IMDS, no 169.254.170.x), and a
/// container asking for a door's address while the door runs is refused.
fn the_network_keeps_the_door_addresses_from_containers(mounts: &[String]) {
    let inspect = docker(&["network", "inspect", "imds-spoof"]);
    let network: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let pool = &network[0]["IPAM"]["Config"][0];
    assert_eq!(pool["Subnet"], "169.254.0.0/16", "{pool}");
    assert_eq!(pool["IPRange"], "169.254.0.0/17", "{pool}");

    let mut args = vec![
        "run",
        "--rm",
        "--network",
        "imds-spoof",
        "--ip",
        "169.254.170.2",
        "--label",
        TEST_LABEL,
    ];
    args.extend(mounts.iter().map(String::as_str));
    args.extend([CLIENT_IMAGE, "true"]);
    let taken = docker(&args);
    assert!(
        !taken.status.success(),
        "a container got the ECS address: {}",
        text(&taken)
    );

    let id = start_idle_client(
        "imds-spoof-test-dynamic",
        &["--network", "imds-spoof"],
        mounts,
    );
    let ip = docker(&[
        "inspect",
        "-f",
        "{{(index .NetworkSettings.Networks \"imds-spoof\").IPAddress}}",
        &id,
    ]);
    let ip: std::net::Ipv4Addr = String::from_utf8_lossy(&ip.stdout).trim().parse().unwrap();
    assert!(ip.octets()[2] < 128, "{ip} is outside 169.254.0.0/17");
    docker(&["rm", "-f", &id]);
}

/// An ECS task's SDK in a container labelled `imds-spoof.identity=worker`:
/// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/worker, no token; botocore's
/// ContainerProvider gets worker's role and account, and the record names the door, the
/// caller and where the identity came from (the label: a name is served only to the
/// container that plays it).
fn botocore_in_an_ecs_task_resolves_the_named_identity(
    python: &Path,
    mounts: &[String],
    log: &Path,
) {
    let worker = identity(1);
    let name = "imds-spoof-test-ecs-task";
    let relative = format!("/v2/credentials/{}", worker.name);
    let mut command = vec![
        python.to_string_lossy().into_owned(),
        "/clients/container_check.py".into(),
        "--relative-uri".into(),
        relative.clone(),
        "--expect-account-id".into(),
        worker.account_id.clone(),
    ];
    command.extend(Expected::sample_identity(1).client_args());
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let label = format!("imds-spoof.identity={}", worker.name);
    let out = run_client(name, &[&label], mounts, &command);
    assert!(out.status.success(), "{}", text(&out));
    let records = wait_for_records(log, |records| {
        records.iter().any(|r| r["caller_container"] == name)
    });
    let record = records
        .iter()
        .find(|r| r["caller_container"] == name)
        .unwrap();
    assert_eq!(record["door"], "ecs", "{record}");
    assert_eq!(record["path"], relative.as_str(), "{record}");
    assert_eq!(record["identity"], worker.name.as_str(), "{record}");
    assert_eq!(record["identity_origin"], "label", "{record}");
    assert_eq!(record["status"], 200, "{record}");
}

/// A container playing `default` asks the ECS door for worker's credentials by name, in
/// another case, and for a name that does not exist: the three answers are the same bytes
/// (400 `InvalidIdInRequest`), so it gets no keys and learns nothing about which names
/// exist. The same container gets its own identity as `self`.
fn another_identity_is_not_served_by_name(mounts: &[String]) {
    let script = "for id in worker WORKER nope self; do \
        curl -s -i --max-time 5 http://169.254.170.2/v2/credentials/$id | grep -iv '^date:'; \
        echo '=====' ; done";
    let out = run_client(
        "imds-spoof-test-ecs-default",
        &[],
        mounts,
        &["sh", "-c", script],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answers: Vec<&str> = stdout.split("=====").map(str::trim).collect();
    assert!(answers.len() >= 4, "{stdout}");
    assert!(answers[0].starts_with("HTTP/1.1 400"), "{}", answers[0]);
    assert!(answers[0].contains("InvalidIdInRequest"), "{}", answers[0]);
    assert_eq!(answers[0], answers[1], "worker and WORKER differ");
    assert_eq!(answers[0], answers[2], "worker and an unknown name differ");
    let own = answers[3];
    assert!(own.starts_with("HTTP/1.1 200"), "{own}");
    assert!(
        own.contains(&Expected::sample_identity(0).access_key),
        "self is not default's keys: {own}"
    );
    assert!(
        !stdout.contains(&Expected::sample_identity(1).access_key),
        "worker's key leaked: {stdout}"
    );
}

/// `imds-spoof token --identity worker --out FILE`, as a compose user makes it.
fn pod_token(config: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("pod-token");
    let made = imds_spoof(
        config,
        &[
            "token",
            "--identity",
            &identity(1).name,
            "--out",
            &out.to_string_lossy(),
        ],
        &[],
    );
    assert!(made.status.success(), "{}", text(&made));
    out
}

/// An EKS pod's SDK: FULL_URI http://169.254.170.23/v1/credentials and the token file
/// mounted where EKS puts it.
fn botocore_in_an_eks_pod_resolves_the_token_identity(
    python: &Path,
    mounts: &[String],
    token: &Path,
) {
    let worker = identity(1);
    let mut mounts = mounts.to_vec();
    mounts.push(format!("--volume={}:{POD_TOKEN_PATH}:ro", token.display()));
    let mut command = vec![
        python.to_string_lossy().into_owned(),
        "/clients/container_check.py".into(),
        "--full-uri".into(),
        "http://169.254.170.23/v1/credentials".into(),
        "--token-file".into(),
        POD_TOKEN_PATH.into(),
        "--expect-account-id".into(),
        worker.account_id.clone(),
    ];
    command.extend(Expected::sample_identity(1).client_args());
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let out = run_client("imds-spoof-test-eks-pod", &[], &mounts, &command);
    assert!(out.status.success(), "{}", text(&out));
}

/// nginx overwrites the door header with the address the caller connected to: ECS's path
/// at the IMDS address with a forged header and Host gets IMDS's refusal, never credentials;
/// the ECS address with the EKS door's name gets ECS's answer.
fn a_forged_door_header_reaches_no_other_door(mounts: &[String], log: &Path) {
    let name = "imds-spoof-test-forger";
    let worker = &identity(1).name;
    let script = format!(
        "curl -s -o /dev/null -w '%{{http_code}} ' -H 'X-Imds-Spoof-Door: 169.254.170.2' -H 'Host: 169.254.170.2' http://169.254.169.254/v2/credentials/{worker}; \
         curl -s -H 'X-Imds-Spoof-Door: 169.254.170.2' http://169.254.169.254/v2/credentials/{worker}; echo; \
         curl -s -o /dev/null -w '%{{http_code}}' -H 'X-Imds-Spoof-Door: 169.254.170.23' -H 'Authorization: x' http://169.254.170.2/v1/credentials"
    );
    let out = run_client(name, &[], mounts, &["bash", "-c", &script]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("AccessKeyId"), "{}", text(&out));
    // IMDS refuses a Host that is not its address (403), or knows no such path (404).
    assert!(
        stdout.starts_with("403 ") || stdout.starts_with("404 "),
        "{}",
        text(&out)
    );
    // Not the EKS agent's 400 for a bad token: ECS knows no /v1/credentials (Go's 404).
    assert!(stdout.trim_end().ends_with("404"), "{}", text(&out));
    // The request with a forged Host is refused before its caller is named.
    let records = wait_for_records(log, |records| {
        records
            .iter()
            .filter(|r| r["caller_container"] == name)
            .count()
            == 2
    });
    let forged_path = format!("/v2/credentials/{worker}");
    let refused = records
        .iter()
        .find(|r| r["status"] == 403 && r["path"] == forged_path.as_str());
    assert_eq!(refused.map(|r| &r["door"]), Some(&"imds".into()));
    let doors: Vec<&str> = records
        .iter()
        .filter(|r| r["caller_container"] == name)
        .map(|r| r["door"].as_str().unwrap_or("imds"))
        .collect();
    assert_eq!(doors, ["imds", "ecs"]);
}

/// `[doors] ecs = false` in the file removes imds-spoof-ecs (its address stops answering);
/// `true` brings it back, answering again.
fn a_door_switched_off_goes_away_and_comes_back(up: &Up, config: &Path, mounts: &[String]) {
    let present = || docker(&["inspect", "imds-spoof-ecs"]).status.success();
    up.edit_config(config, "ecs = true", "ecs = false");
    assert!(
        wait_until(Duration::from_secs(20), || !present()),
        "imds-spoof-ecs still there with [doors] ecs = false:\n{}",
        up.stderr()
    );
    let probe = "curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://169.254.170.2/v2/credentials/self";
    let out = run_client(
        "imds-spoof-test-door-off",
        &[],
        mounts,
        &["bash", "-c", probe],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "000",
        "{}",
        text(&out)
    );
    assert!(docker(&["inspect", "imds-spoof-eks"]).status.success());

    // Back once the run has probed it (the container exists before nginx listens).
    let ready = || up.stderr().matches("imds-spoof-ecs ready").count();
    let ready_before = ready();
    up.edit_config(config, "ecs = false", "ecs = true");
    assert!(
        wait_until(Duration::from_secs(20), || ready() > ready_before
            && present()),
        "imds-spoof-ecs not back with [doors] ecs = true:\n{}",
        up.stderr()
    );
    let out = run_client(
        "imds-spoof-test-door-on",
        &[],
        mounts,
        &["bash", "-c", probe],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "{}",
        text(&out)
    );
}

/// The README's compose example (an "ECS task" playing worker by its label and an "EKS
/// pod" with a token file), run with docker-compose as written (support::compose says what
/// is changed). Both get worker's keys.
fn the_readmes_compose_example_works_as_written(config: &Path, dir: &Path, mounts: &[String]) {
    if !support::require(
        Need::Compose,
        &format!("{TEST} (the README's compose example)"),
    ) {
        return;
    }
    let example = support::compose::ReadmeExample::write(config, dir, mounts, CLIENT_IMAGE, &[]);
    example.run_and_check(Path::new("docker-compose"));
}

/// The Docker Desktop arrangement, run on this Linux engine (docs/docker.md, "What is
/// tested, and what is not"): the broker on TCP at the default bridge's address (what
/// `host-gateway` names here; Docker Desktop forwards it to loopback), the proxies
/// reaching it as host.docker.internal. Identities through IMDS and the ECS door, a forged
/// or missing secret refused, the host refused, nothing left after stop.
#[test]
fn the_desktop_arrangement_on_a_linux_engine() {
    let test = "the_desktop_arrangement_on_a_linux_engine";
    if !require_all(&[Need::Docker, Need::OfflineImages, Need::Curl], test) {
        return;
    }
    let engine = EngineFixture::new();
    // What `host-gateway` names on this engine, as a container sees it.
    let mounts = client_mounts(None);
    let mut args = vec![
        "run",
        "--rm",
        "--add-host",
        "probe:host-gateway",
        "--label",
        TEST_LABEL,
    ];
    args.extend(mounts.iter().map(String::as_str));
    args.extend([CLIENT_IMAGE, "sh", "-c", "grep -w probe /etc/hosts"]);
    let hosts = docker(&args);
    let gateway = String::from_utf8_lossy(&hosts.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        gateway.parse::<std::net::Ipv4Addr>().is_ok(),
        "host-gateway names no IPv4 address here: {}",
        text(&hosts)
    );
    edit_config(
        &engine.config,
        "allow_host = false",
        &format!("allow_host = false\narrangement = \"desktop\"\ndesktop_listen = \"{gateway}\""),
    );
    let (up, _log) = engine.up_logging("up-desktop");
    let broker = format!("{gateway}:{}", engine.port);
    assert_eq!(up.ready["broker"], broker.as_str(), "{}", up.ready);
    let proxy = docker(&[
        "inspect",
        "-f",
        "{{json .HostConfig.ExtraHosts}}",
        "imds-spoof-proxy",
    ]);
    assert!(
        text(&proxy).contains("host.docker.internal:host-gateway"),
        "{}",
        text(&proxy)
    );

    // A labelled container gets its identity through IMDS and through the ECS door.
    let labels = ["imds-spoof.identity=worker"];
    let worker = Expected::sample_identity(1);
    let mut imds = vec!["curl", "-s", "--max-time", "5"];
    imds.push("http://169.254.169.254/latest/meta-data/instance-id");
    let out = run_client("imds-spoof-test-desktop", &labels, &mounts, &imds);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        worker.instance_id,
        "{}",
        text(&out)
    );
    let ecs = [
        "curl",
        "-s",
        "--max-time",
        "5",
        "http://169.254.170.2/v2/credentials/worker",
    ];
    let out = run_client("imds-spoof-test-desktop-ecs", &labels, &mounts, &ecs);
    assert!(text(&out).contains(&worker.access_key), "{}", text(&out));

    // The broker's port answers nobody without this run's secret.
    let url = format!("http://{broker}/latest/meta-data/instance-id");
    for secret in [None, Some("0123456789abcdef0123456789abcdef")] {
        let mut args = vec!["-s", "--max-time", "5", "-w", "\n%{http_code}"];
        let header = secret.map(|s| format!("{}: {s}", imds_spoof::broker::SECRET_HEADER));
        if let Some(header) = &header {
            args.extend(["-H", header.as_str()]);
        }
        args.push(&url);
        let out = std::process::Command::new("curl")
            .args(&args)
            .output()
            .unwrap();
        let answer = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            !answer.contains(&worker.instance_id) && !answer.ends_with("200"),
            "secret {secret:?} admitted: {answer}"
        );
    }
    // status finds the broker where this arrangement put it, and everything answering.
    let status = imds_spoof(&engine.config, &["status"], &[]);
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{}", text(&status));
    assert!(out.contains(&broker), "no {broker} in\n{out}");
    // The host through the proxy is refused, as in the socket arrangement.
    assert_eq!(
        host_status("http://169.254.169.254/latest/meta-data/instance-id"),
        "403",
        "the host is refused"
    );

    assert_eq!(up.stop(), 0, "SIGTERM ends up cleanly");
    let (containers, _) = leftovers();
    assert_eq!(containers, "", "every proxy container is removed on stop");
}
