//! Issue 9, hole 2: an application container must not be able to see the proxy→broker leg,
//! which carries the per-run secret and the caller header. Against the real engine: a
//! container with Docker's default capabilities (CAP_NET_RAW) tells the proxy that the
//! gateway's address is at its MAC (ARP spoofing) and captures every frame that reaches it
//! with an AF_PACKET socket (tests/clients/arp_sniff.py), while another container keeps
//! asking IMDS through the proxy. With the broker on TCP at the gateway this captured the
//! secret within seconds; with the broker on a unix socket mounted into the proxy there is
//! nothing of the leg on the bridge to capture. The attack itself is support::leg's; it
//! runs here on Docker and on rootful Podman, and in tests/podman.rs on rootless Podman.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::docker::*;
use support::leg::attack_the_leg;
use support::{require, Need};

const TEST: &str = "a_container_cannot_capture_the_proxy_leg";

#[test]
fn a_container_cannot_capture_the_proxy_leg() {
    if !require(Need::Docker, TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let up = Up::start(&engine.config, &[], &engine.dir.path().join("up.err"))
        .unwrap_or_else(|(err, code)| panic!("up failed ({code}): {err}"));
    attack_the_leg(Cli::Docker, &client_mounts(None), &capture_dir(&engine));
    assert_eq!(up.stop(), 0);
}

/// The same attack on rootful Podman, whose default capabilities leave out NET_RAW: the
/// attacker is given it, as a container of the threat model may have it.
#[test]
fn a_podman_container_cannot_capture_the_proxy_leg() {
    let test = "a_podman_container_cannot_capture_the_proxy_leg";
    if !support::require_all(
        &[Need::Docker, Need::OfflineImages, Need::PodmanRootful],
        test,
    ) {
        return;
    }
    // Docker's network of ours is swept first: Podman's takes the same subnet.
    let engine = EngineFixture::new();
    let host = format!("unix://{}", support::need::PODMAN_ROOTFUL_SOCKET);
    let image = Cli::Podman.image(NGINX_IMAGE);
    let up = Up::start_with_env(
        &engine.config,
        &["--proxy-image", &image],
        &engine.dir.path().join("up.err"),
        &[("DOCKER_HOST", host.as_str())],
    )
    .unwrap_or_else(|(err, code)| panic!("up on Podman failed ({code}): {err}"));
    attack_the_leg(Cli::Podman, &client_mounts(None), &capture_dir(&engine));
    assert_eq!(up.stop(), 0);
}

fn capture_dir(engine: &EngineFixture) -> std::path::PathBuf {
    let dir = engine.dir.path().join("capture");
    std::fs::create_dir(&dir).expect("capture dir");
    dir
}
