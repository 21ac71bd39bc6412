//! An application container under test, given an EC2 identity by imds-spoof, with the
//! Rust `testcontainers` crate: it joins the imds-spoof network and reads its instance id
//! over IMDSv2, as an SDK would. Run `imds-spoof up --detach` first.
//!
//! - `APP_IMAGE` (default `curlimages/curl:8.11.1`): the application's image, with `sh`
//!   and `curl`.
//! - `IMDS_IDENTITY`: the identity the container plays (its `imds-spoof.identity` label);
//!   without it, the active identity.
//! - `EXPECTED_INSTANCE_ID`: what the container must read.
//! - `EXTRA_MOUNTS`: host paths the image borrows, as JSON `[["HOST", "INSIDE"], …]`
//!   (imds-spoof's offline test image has no curl of its own).

use testcontainers::core::wait::ExitWaitStrategy;
use testcontainers::core::{AccessMode, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

/// The network `imds-spoof up` makes (`[network] name`).
const NETWORK: &str = "imds-spoof";

/// IMDSv2 as current SDKs do it: a token first, then the read.
const READ_INSTANCE_ID: &str = "T=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
     http://169.254.169.254/latest/api/token) && \
     curl -sf -H \"X-aws-ec2-metadata-token: $T\" \
     http://169.254.169.254/latest/meta-data/instance-id";

/// The application container: its image on the imds-spoof network, labelled with the
/// identity it plays.
fn app_container() -> GenericImage {
    let image = std::env::var("APP_IMAGE").unwrap_or_else(|_| "curlimages/curl:8.11.1".into());
    let (name, tag) = image.rsplit_once(':').unwrap_or((&image, "latest"));
    GenericImage::new(name, tag)
        .with_wait_for(WaitFor::exit(ExitWaitStrategy::new().with_exit_code(0)))
        .with_entrypoint("sh")
}

#[tokio::test]
async fn the_container_plays_its_identity() {
    let expected = std::env::var("EXPECTED_INSTANCE_ID")
        .expect("EXPECTED_INSTANCE_ID: the instance id the container must read");
    let mut container = app_container()
        .with_network(NETWORK)
        .with_cmd(["-c", READ_INSTANCE_ID])
        .with_label("imds-spoof.test", "1");
    if let Ok(identity) = std::env::var("IMDS_IDENTITY") {
        container = container.with_label("imds-spoof.identity", identity);
    }
    let mounts: Vec<[String; 2]> = std::env::var("EXTRA_MOUNTS")
        .map(|json| serde_json::from_str(&json).expect("EXTRA_MOUNTS: [[HOST, INSIDE], …]"))
        .unwrap_or_default();
    for [host, inside] in mounts {
        container = container
            .with_mount(Mount::bind_mount(host, inside).with_access_mode(AccessMode::ReadOnly));
    }
    let running = container.start().await.expect("the container runs");
    let out = running.stdout_to_vec().await.expect("its output");
    assert_eq!(String::from_utf8_lossy(&out).trim(), expected);
    running.rm().await.expect("removed");
}
