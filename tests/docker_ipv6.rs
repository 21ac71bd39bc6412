//! The IPv6 endpoint on the real engine (docs/protocol.md §9, cases 69–70): with
//! `[network] ipv6 = true` the network gets fd00:ec2::/64 and the proxy answers at
//! http://[fd00:ec2::254]; botocore in IPv6 endpoint mode resolves credentials and region
//! in a container, curl -6 is recorded with the calling container's name, aws-config in
//! IPv6 mode resolves from the host (when the host is allowed), a link-local source is not
//! taken for "not a container", and a network made with IPv6 is not reused without it.
//! One test function: the scenarios share the fixed network.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::clients::expectation_args;
use support::docker::*;
use support::need::python;
use support::{aws, describe as text, identity, require_all, wait_for_records, Expected, Need};

const TEST: &str = "ipv6_endpoint_on_the_real_engine";
const IMDS_V6: &str = "http://[fd00:ec2::254]";

#[test]
fn ipv6_endpoint_on_the_real_engine() {
    if !require_all(&[Need::Docker, Need::OfflineImages, Need::Curl], TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let (config, dir) = (&engine.config, &engine.dir);
    edit_config(config, "ipv6 = false", "ipv6 = true");
    let python = python(&format!("{TEST} (botocore in a container)"));
    let venv = python
        .as_ref()
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf));
    let mounts = client_mounts(venv.as_deref());

    let (up, log) = engine.up_logging("up-ipv6");
    assert_eq!(up.ready["imds_ipv6"], IMDS_V6, "{}", up.ready);
    the_network_and_the_proxy_have_their_ipv6_addresses();
    curl_over_ipv6_is_recorded_with_the_container_name(&mounts, &log);
    if let Some(python) = &python {
        botocore_in_ipv6_mode_resolves_credentials_and_region(python, &mounts);
        botocore_full_uri_at_the_eks_door_over_ipv6(python, &mounts, config, dir.path());
    }
    a_link_local_source_is_not_a_way_around_naming(&mounts, &log);
    the_host_over_ipv6_is_refused_then_allowed_for_aws_config(&up, config);
    assert_eq!(up.stop(), 0, "SIGTERM ends up cleanly");

    // The network stays (compose files use it); without IPv6 it is not what the
    // configuration asks for any more.
    edit_config(config, "ipv6 = true", "ipv6 = false");
    match Up::start(config, &[], &dir.path().join("up-v4.err")) {
        Ok(_) => panic!("up reused a network made with IPv6 for a configuration without it"),
        Err((err, code)) => {
            assert_eq!(code, 5, "{err}");
            assert!(err.contains("an earlier configuration"), "{err}");
            assert!(err.contains("imds-spoof down"), "{err}");
        }
    }
}

/// EnableIPv6, the fixed /64 with its container range, and the proxy at fd00:ec2::254.
fn the_network_and_the_proxy_have_their_ipv6_addresses() {
    let inspect = docker(&["network", "inspect", "imds-spoof"]);
    assert!(inspect.status.success(), "{}", text(&inspect));
    let network: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let network = &network[0];
    assert_eq!(network["EnableIPv6"], true, "{network}");
    let pools = network["IPAM"]["Config"].as_array().unwrap();
    let ipv6 = pools
        .iter()
        .find(|pool| pool["Subnet"] == "fd00:ec2::/64")
        .unwrap_or_else(|| panic!("no IPv6 pool: {network}"));
    assert_eq!(ipv6["Gateway"], "fd00:ec2::1", "{ipv6}");
    assert_eq!(ipv6["IPRange"], "fd00:ec2::1:0/112", "{ipv6}");
    let proxy = docker(&[
        "inspect",
        "-f",
        "{{(index .NetworkSettings.Networks \"imds-spoof\").GlobalIPv6Address}}",
        "imds-spoof-proxy",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&proxy.stdout).trim(),
        "fd00:ec2::254"
    );
}

/// Case 71: FULL_URI http://[fd00:ec2::23]/v1/credentials (a host botocore allows over
/// plain http) with a pod token file reaches the EKS door's container at its IPv6 address.
fn botocore_full_uri_at_the_eks_door_over_ipv6(
    python: &Path,
    mounts: &[String],
    config: &Path,
    dir: &Path,
) {
    let eks = docker(&[
        "inspect",
        "-f",
        "{{(index .NetworkSettings.Networks \"imds-spoof\").GlobalIPv6Address}}",
        "imds-spoof-eks",
    ]);
    assert_eq!(String::from_utf8_lossy(&eks.stdout).trim(), "fd00:ec2::23");
    let token = dir.join("pod-token");
    let worker = identity(1);
    let made = imds_spoof(
        config,
        &[
            "token",
            "--identity",
            &worker.name,
            "--out",
            &token.to_string_lossy(),
        ],
        &[],
    );
    assert!(made.status.success(), "{}", text(&made));
    let mut mounts = mounts.to_vec();
    mounts.push(format!("--volume={}:/run/pod-token:ro", token.display()));
    let expected = Expected::sample_identity(1);
    let command = [
        python.to_string_lossy().into_owned(),
        "/clients/container_check.py".into(),
        "--full-uri".into(),
        "http://[fd00:ec2::23]/v1/credentials".into(),
        "--token-file".into(),
        "/run/pod-token".into(),
        "--expect-account-id".into(),
        worker.account_id.clone(),
        "--expect-access-key".into(),
        expected.access_key,
        "--expect-secret".into(),
        expected.secret,
        "--expect-token".into(),
        expected.token,
    ];
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let out = run_client("imds-spoof-test-eks6", &[], &mounts, &command);
    assert!(out.status.success(), "{}", text(&out));
}

/// `curl -6` from a named container: its own identity, and the record names it by its
/// IPv6 address.
fn curl_over_ipv6_is_recorded_with_the_container_name(mounts: &[String], log: &Path) {
    let name = "imds-spoof-test-curl6";
    let label = format!("imds-spoof.identity={}", identity(1).name);
    let script = format!(
        "T=$(curl -6 -g -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' {IMDS_V6}/latest/api/token); \
         curl -6 -g -s -H \"X-aws-ec2-metadata-token: $T\" {IMDS_V6}/latest/meta-data/instance-id; echo; \
         curl -6 -g -s {IMDS_V6}/latest/meta-data/instance-id"
    );
    let out = run_client(name, &[&label], mounts, &["bash", "-c", &script]);
    let expected = &identity(1).instance_id;
    assert_stdout(&out, &format!("{expected}\n{expected}"));
    let records = wait_for_records(log, |records| {
        records
            .iter()
            .filter(|r| r["caller_container"] == name)
            .count()
            == 3
    });
    for record in records.iter().filter(|r| r["caller_container"] == name) {
        let ip = record["caller_ip"].as_str().unwrap_or_default();
        assert!(
            ip.starts_with("fd00:ec2::1:"),
            "recorded from {ip}: {record}"
        );
        assert_eq!(record["identity"], identity(1).name.as_str(), "{record}");
        assert_eq!(record["identity_origin"], "label", "{record}");
    }
}

/// botocore's real IMDS code with AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 (set by the
/// script after it clears every AWS_* variable): base URL http://[fd00:ec2::254]/, a
/// token, the default identity's credentials and region.
fn botocore_in_ipv6_mode_resolves_credentials_and_region(python: &Path, mounts: &[String]) {
    let mut command = vec![
        python.to_string_lossy().into_owned(),
        "/clients/botocore_check.py".to_string(),
        "--endpoint-mode".to_string(),
        "IPv6".to_string(),
        "--expect-base-url".to_string(),
        "http://[fd00:ec2::254]/".to_string(),
        "--expect-imds-version".to_string(),
        "2".to_string(),
    ];
    command.extend(expectation_args(&Expected::sample_identity(0)));
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let out = run_client("imds-spoof-test-botocore6", &[], mounts, &command);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    assert_eq!(report["endpoint"], serde_json::Value::Null, "{report}");
    assert_eq!(report["fetcher_base_url"], "http://[fd00:ec2::254]/");
    assert_eq!(
        report["region"]["fetcher"],
        Expected::sample_identity(0).region.as_str()
    );
}

/// Every container also has a link-local IPv6 address, and may send from it without any
/// privilege. No container is known by it: the request is unresolved (EC2's 500 by
/// default), never answered as a non-container with the active identity.
fn a_link_local_source_is_not_a_way_around_naming(mounts: &[String], log: &Path) {
    const SCRIPT: &str = r#"
import socket, time
def link_local():
    for line in open("/proc/net/if_inet6"):
        addr, index, _, _, flags, dev = line.split()
        if dev == "eth0" and addr.startswith("fe80") and not int(flags, 16) & 0x40:
            return ":".join(addr[i:i + 4] for i in range(0, 32, 4)), int(index, 16)
deadline = time.time() + 10
while True:
    found = link_local()
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(5)
        s.bind((found[0], 0, 0, found[1]))
        break
    except (OSError, TypeError):
        if time.time() > deadline:
            raise
        time.sleep(0.1)
s.connect(("fd00:ec2::254", 80))
s.sendall(b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: [fd00:ec2::254]\r\nConnection: close\r\n\r\n")
answer = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    answer += chunk
print(answer.split(b"\r\n")[0].decode(), found[0])
"#;
    let name = "imds-spoof-test-linklocal";
    let out = run_client(name, &[], mounts, &["python3", "-c", SCRIPT]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        stdout.starts_with("HTTP/1.1 500 "),
        "a link-local caller was answered: {stdout}"
    );
    let source: std::net::IpAddr = stdout.split_whitespace().last().unwrap().parse().unwrap();
    let from_source = |r: &serde_json::Value| r["caller_ip"].as_str() == Some(&source.to_string());
    let records = wait_for_records(log, |records| records.iter().any(from_source));
    let record = records.iter().find(|r| from_source(r)).unwrap();
    assert_eq!(record["status"], 500, "{record}");
    assert!(record["caller_container"].is_null(), "{record}");
}

/// The host reaches [fd00:ec2::254] through the bridge from its IPv6 gateway address:
/// refused by default; with allow_host, aws-config in IPv6 endpoint mode resolves the
/// active identity's credentials and region through the proxy.
fn the_host_over_ipv6_is_refused_then_allowed_for_aws_config(up: &Up, config: &Path) {
    let from_host = std::process::Command::new("curl")
        .args([
            "-6",
            "-g",
            "-s",
            "-m",
            "3",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(format!("{IMDS_V6}/latest/meta-data/instance-id"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&from_host.stdout), "403");

    up.edit_config(config, "allow_host = false", "allow_host = true");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let resolved = runtime
        .block_on(aws::resolve_with(aws::ipv6_mode_client))
        .expect("aws-config in IPv6 endpoint mode resolves");
    let expected = Expected::sample_identity(0);
    assert_eq!(resolved.access_key, expected.access_key);
    assert_eq!(resolved.secret, expected.secret);
    assert_eq!(resolved.token.as_deref(), Some(expected.token.as_str()));
    assert_eq!(resolved.region.as_deref(), Some(expected.region.as_str()));
    up.edit_config(config, "allow_host = true", "allow_host = false");
}
