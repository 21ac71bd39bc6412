//! `source = "assume-role"` against the real engine, with moto's server as STS: three
//! containers playing one identity each get a session of their own, named after the
//! container (so CloudTrail tells them apart), with keys of their own; a container's
//! session is fetched when it joins the network, before its first request.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;

use support::clients::whoami;
use support::docker::*;
use support::moto::{assume_app_role, Moto};
use support::need::python;
use support::{describe as text, identity, require_all, wait_until, Need};

const TEST: &str = "each_container_gets_its_own_assumed_role_session";
const ACCOUNT: &str = "123456789012";

#[test]
fn each_container_gets_its_own_assumed_role_session() {
    if !require_all(&[Need::Docker, Need::OfflineImages], TEST) {
        return;
    }
    let Some(python) = python(TEST) else {
        return;
    };
    let mut moto = Moto::start(&python);
    let engine = EngineFixture::new();
    // The default identity assumes `app` with the worker identity's static keys.
    let text_config = std::fs::read_to_string(&engine.config).expect("read config");
    let mut doc: toml_edit::DocumentMut = text_config.parse().expect("config parses");
    assume_app_role(&mut doc, &moto.url, None);
    std::fs::write(&engine.config, doc.to_string()).expect("write config");
    let (up, _log) = engine.up_logging("up");

    let mounts = client_mounts(None);
    let role = &identity(0).role.as_ref().expect("role").name;
    let ask =
        format!("curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/{role}");
    let mut keys = HashSet::new();
    for index in 0..3 {
        let name = format!("imds-spoof-test-assume-{index}");
        let out = run_client(&name, &[], &mounts, &["bash", "-c", &ask]);
        assert!(out.status.success(), "{name}: {}", text(&out));
        let document: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|err| panic!("{name}: not credentials ({err}): {}", text(&out)));
        let arn = whoami(&python, &moto.url, &document);
        assert_eq!(
            arn,
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/{name}"),
            "{name}'s keys"
        );
        keys.insert(
            document["AccessKeyId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert_eq!(keys.len(), 3, "three sessions, three access keys: {keys:?}");

    // A container that has not asked yet already has its session: with STS gone, its
    // first request is still answered, from the session fetched when it joined.
    let early = "imds-spoof-test-assume-early";
    start_idle_client(early, &["--network", "imds-spoof"], &mounts);
    let ready = wait_until(Duration::from_secs(30), || {
        up.stderr().lines().any(|line| {
            line.contains("session ready ahead of the first request") && line.contains(early)
        })
    });
    assert!(
        ready,
        "no session fetched ahead for {early}:\n{}",
        up.stderr()
    );
    moto.stop();
    let out = docker(&["exec", early, "bash", "-c", &ask]);
    assert!(out.status.success(), "{early}: {}", text(&out));
    let document: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{early}: not credentials ({err}): {}", text(&out)));
    let key = document["AccessKeyId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        key.starts_with("ASIA") && !keys.contains(&key),
        "{early} has a session of its own: {document}"
    );
    assert_eq!(up.stop(), 0);
}
