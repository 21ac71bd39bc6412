//! The real `imds-spoof` binary (`serve` on a loopback port) against real IMDS clients:
//! botocore and the `ec2-metadata` package (tests/clients/*.py in the venv named by
//! IMDS_SPOOF_PYTHON), the Rust SDK's `aws-config`, curl, and raw sockets.
//! Every test starts its own server, so they run in parallel.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "real_clients/containers.rs"]
mod containers;
#[path = "real_clients/profiles.rs"]
mod profiles;
#[path = "real_clients/rust_sdk.rs"]
mod rust_sdk;
#[path = "real_clients/sockets.rs"]
mod sockets;
#[path = "real_clients/sources.rs"]
mod sources;

use support::clients::{botocore_args, run_script};
use support::need::python;
use support::{identity, serve_sample, Expected, ServeOptions};

/// Runs botocore_check.py expecting the default identity's credentials.
fn botocore_expecting_default(
    test: &str,
    edit: impl FnOnce(&mut toml_edit::DocumentMut),
    extra: &[&str],
) {
    let Some(python) = python(test) else {
        return;
    };
    let server = serve_sample(edit, ServeOptions::default());
    let args = botocore_args(&server.url(), &Expected::sample_identity(0), extra);
    run_script(&python, "botocore_check.py", &args).assert_ok(test);
}

#[test]
fn botocore_gets_configured_credentials_and_region_over_imdsv2() {
    botocore_expecting_default(
        "botocore optional tokens",
        |_| {},
        &["--expect-imds-version", "2"],
    );
}

#[test]
fn botocore_works_when_tokens_are_required() {
    botocore_expecting_default(
        "botocore required tokens",
        |doc| doc["imds"]["tokens"] = toml_edit::value("required"),
        &["--expect-imds-version", "2"],
    );
}

#[test]
fn botocore_works_with_v1_disabled() {
    botocore_expecting_default(
        "botocore v1 disabled",
        |_| {},
        &["--v1-disabled", "--expect-imds-version", "2"],
    );
}

/// A token PUT answered 403 (what SDKs read as "IMDSv2 not available"): botocore falls
/// back to IMDSv1, unless v1 is disabled, in which case it must get nothing at all.
#[test]
fn botocore_falls_back_to_v1_only_when_allowed() {
    let test = "botocore v1 fallback";
    let Some(python) = python(test) else {
        return;
    };
    let server = serve_sample(
        |doc| {
            let mut fault = toml_edit::Table::new();
            fault["path_prefix"] = toml_edit::value("/latest/api/token");
            fault["kind"] = toml_edit::value("status");
            fault["status"] = toml_edit::value(403);
            let mut faults = toml_edit::ArrayOfTables::new();
            faults.push(fault);
            doc.insert("fault", toml_edit::Item::ArrayOfTables(faults));
        },
        ServeOptions::default(),
    );
    let expected = Expected::sample_identity(0);
    let args = botocore_args(&server.url(), &expected, &["--expect-imds-version", "1"]);
    run_script(&python, "botocore_check.py", &args).assert_ok("v1 fallback");
    let args = vec![
        "--endpoint".to_string(),
        server.url(),
        "--v1-disabled".to_string(),
        "--expect-fail".to_string(),
    ];
    run_script(&python, "botocore_check.py", &args).assert_ok("v1 disabled, no token");
}

/// Attributes the sample identity leaves empty on purpose (no ASG, PV kernel, spot
/// notice or IPv6), which ec2-metadata reports as None or empty.
const ABSENT_IN_SAMPLE: &[&str] = &[
    "autoscaling_target_lifecycle_state",
    "kernel_id",
    "spot_instance_action",
    "network_interfaces[*].ipv6_prefix",
    "network_interfaces[*].ipv6s",
    "network_interfaces[*].subnet_ipv6_cidr_blocks",
    "network_interfaces[*].vpc_ipv6_cidr_blocks",
];

fn ec2_metadata_args(endpoint: &str, tags_on: bool) -> Vec<String> {
    let mut args = vec!["--endpoint".to_string(), endpoint.to_string()];
    args.extend(["--require".to_string(), "all".to_string()]);
    for name in ABSENT_IN_SAMPLE {
        args.extend(["--expect-absent".to_string(), name.to_string()]);
    }
    let default = identity(0);
    let role = default
        .role
        .as_ref()
        .expect("the sample's default identity has a role");
    for (name, value) in [
        ("instance_id", &default.instance_id),
        ("instance_type", &default.instance_type),
        ("region", &default.region),
        ("availability_zone", &default.availability_zone),
        ("account_id", &default.account_id),
        ("mac", &default.mac),
        ("instance_profile_name", &role.name),
    ] {
        args.extend(["--expect".to_string(), format!("{name}={value}")]);
    }
    if tags_on {
        let name = default
            .tags
            .get("Name")
            .expect("the sample tags its instance");
        args.extend(["--expect".to_string(), format!("tags[Name]={name}")]);
    } else {
        args.extend(["--expect-fail".to_string(), "tags".to_string()]);
    }
    args
}

#[test]
fn ec2_metadata_reads_every_attribute_with_tags_off() {
    let Some(python) = python("ec2-metadata tags off") else {
        return;
    };
    let server = serve_sample(|_| {}, ServeOptions::default());
    let run = run_script(
        &python,
        "ec2_metadata_check.py",
        &ec2_metadata_args(&server.url(), false),
    );
    run.assert_ok("ec2-metadata, tags off");
    assert_eq!(
        run.summary["raised"],
        serde_json::json!(["tags"]),
        "{}",
        run.stdout
    );
}

#[test]
fn ec2_metadata_reads_every_attribute_with_tags_on() {
    let Some(python) = python("ec2-metadata tags on") else {
        return;
    };
    let server = serve_sample(
        |doc| doc["imds"]["tags_in_metadata"] = toml_edit::value(true),
        ServeOptions::default(),
    );
    let run = run_script(
        &python,
        "ec2_metadata_check.py",
        &ec2_metadata_args(&server.url(), true),
    );
    run.assert_ok("ec2-metadata, tags on");
    assert_eq!(
        run.summary["raised"],
        serde_json::json!([]),
        "{}",
        run.stdout
    );
}
