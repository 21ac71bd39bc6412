//! Podman through its Docker-compatible API (docs/podman.md): `up` against rootful
//! Podman's socket finds the engine local (its bridge appears only with the first
//! container), mounts the broker's socket into the proxies, and containers Podman runs
//! get their identities: the active one unlabelled, the label's through IMDS and the ECS
//! door; the host is refused; `status` and `down` work there and leave nothing.
//! One test function: the scenarios share the run. It holds the engine lock, since
//! Docker's and Podman's networks would both take 169.254.0.0/16.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output};

use support::docker::*;
use support::need::{PODMAN_ROOTFUL_SOCKET, PODMAN_USER};
use support::{describe as text, require_all, Expected, Need};

const TEST: &str = "rootful_podman_serves_its_containers";

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(args)
        .output()
        .expect("run podman")
}

/// `curl -s URL` from a client container Podman runs on the imds-spoof network.
fn curl_in_podman(labels: &[&str], url: &str) -> String {
    curl_in_podman_with(labels, &[], url)
}

/// [`curl_in_podman`] with more curl arguments (`-H …`).
fn curl_in_podman_with(labels: &[&str], curl_args: &[&str], url: &str) -> String {
    let mut args = vec![
        "run",
        "--rm",
        "--network",
        "imds-spoof",
        "--label",
        TEST_LABEL,
    ];
    for label in labels {
        args.extend(["--label", label]);
    }
    let mounts = client_mounts(None);
    args.extend(mounts.iter().map(String::as_str));
    let image = format!("localhost/{CLIENT_IMAGE}");
    args.extend([image.as_str(), "curl", "-s", "--max-time", "5"]);
    args.extend(curl_args);
    args.push(url);
    let out = podman(&args);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
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
    let host = format!("unix://{PODMAN_ROOTFUL_SOCKET}");
    let env = [("DOCKER_HOST", host.as_str())];
    let podman_image = format!("localhost/{NGINX_IMAGE}");
    let start = |name: &str| {
        let stderr = engine.dir.path().join(format!("{name}.err"));
        Up::start_with_env(
            &engine.config,
            &["--proxy-image", &podman_image],
            &stderr,
            &env,
        )
        .unwrap_or_else(|(err, code)| panic!("{name} on Podman failed ({code}): {err}"))
    };
    // The network stays after a clean stop (compose files name it); the next run reuses
    // it, though Podman's inspect leaves out the address range it was made with.
    let first = start("up-podman");
    assert_eq!(first.stop(), 0, "SIGTERM ends up cleanly");
    let up = start("up-podman-again");
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

    let default = Expected::sample_identity(0);
    let worker = Expected::sample_identity(1);
    let imds = "http://169.254.169.254/latest/meta-data/instance-id";
    assert_eq!(curl_in_podman(&[], imds).trim(), default.instance_id);
    let labels = ["imds-spoof.identity=worker"];
    assert_eq!(curl_in_podman(&labels, imds).trim(), worker.instance_id);
    let ecs = curl_in_podman(&labels, "http://169.254.170.2/v2/credentials/worker");
    assert!(ecs.contains(&worker.access_key), "{ecs}");
    // The EKS door: the identity a pod's token names.
    let token_file = engine.dir.path().join("pod-token");
    let made = imds_spoof(
        &engine.config,
        &[
            "token",
            "--identity",
            &support::identity(1).name,
            "--out",
            &token_file.to_string_lossy(),
        ],
        &env,
    );
    assert!(made.status.success(), "{}", text(&made));
    let token = std::fs::read_to_string(&token_file).unwrap();
    let authorization = format!("Authorization: {}", token.trim());
    let eks = curl_in_podman_with(
        &[],
        &["-H", &authorization],
        "http://169.254.170.23/v1/credentials",
    );
    assert!(eks.contains(&worker.access_key), "{eks}");
    // The caller was named from Podman's answers.
    assert!(
        up.stderr()
            .contains(r#""identity":"worker","identity_origin":"label""#),
        "{}",
        up.stderr()
    );

    assert_eq!(host_status(imds), "403", "the host is refused");

    let status = imds_spoof(&engine.config, &["status"], &env);
    assert!(
        status.status.success(),
        "status on Podman: {}",
        text(&status)
    );

    // `[engine] socket` chooses Podman without DOCKER_HOST.
    let before = std::fs::read_to_string(&engine.config).unwrap();
    std::fs::write(
        &engine.config,
        format!("{before}\n[engine]\nsocket = \"{host}\"\n"),
    )
    .unwrap();
    let doctor = Command::new(support::server::BIN)
        .arg("--config")
        .arg(&engine.config)
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

    // kill -9: the run cannot clean up; `down` removes what it left in Podman.
    let mut up = up;
    up.child.kill().unwrap();
    let _ = up.child.wait();
    let down = imds_spoof(&engine.config, &["down"], &env);
    assert!(down.status.success(), "down on Podman: {}", text(&down));
    assert_eq!(
        leftovers_in("podman"),
        (String::new(), String::new()),
        "down leaves nothing"
    );
}

/// The same run as an unprivileged user on rootless Podman: its networks live in the
/// user's network namespace (the host cannot reach the proxies, and is no caller), the
/// broker's socket is in the user's runtime directory, mounted into the proxies.
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
    let passwd = Command::new("getent")
        .args(["passwd", PODMAN_USER])
        .output()
        .unwrap();
    let home = String::from_utf8_lossy(&passwd.stdout)
        .split(':')
        .nth(5)
        .unwrap_or_default()
        .to_string();
    let podman_as_user = |args: &[&str]| {
        Command::new("runuser")
            .args(["-u", PODMAN_USER, "--", "env"])
            .arg(format!("XDG_RUNTIME_DIR={runtime}"))
            .arg(format!("HOME={home}"))
            .arg("podman")
            .args(args)
            .output()
            .expect("podman as the test user")
    };
    // curl from the host's /usr (the user cannot read the other client mounts).
    let curl = |labels: &[&str], url: &str| {
        let client = format!("localhost/{CLIENT_IMAGE}");
        let mut args = vec![
            "run",
            "--rm",
            "--network",
            "imds-spoof",
            "--volume=/usr:/usr:ro",
        ];
        for label in labels {
            args.extend(["--label", label]);
        }
        args.extend([client.as_str(), "curl", "-s", "--max-time", "5", url]);
        let out = podman_as_user(&args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let default = Expected::sample_identity(0);
    let worker = Expected::sample_identity(1);
    let imds = "http://169.254.169.254/latest/meta-data/instance-id";
    assert_eq!(curl(&[], imds).trim(), default.instance_id);
    let labels = ["imds-spoof.identity=worker"];
    assert_eq!(curl(&labels, imds).trim(), worker.instance_id);
    let ecs = curl(&labels, "http://169.254.170.2/v2/credentials/worker");
    assert!(ecs.contains(&worker.access_key), "{ecs}");

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
