//! The Rust SDK (`aws-config`) against the real server, next to botocore.

use crate::support::clients::{botocore_args, run_script, sha_prefix};
use crate::support::need::python;
use crate::support::{self, aws, serve_sample, Expected, ServeOptions};

/// docs/protocol.md case 44: botocore and aws-config resolve the same credentials and region. Uses the
/// non-default identity ("worker", eu-west-1) with tokens required, so a client that
/// silently fell back to IMDSv1 or to the default identity could not pass.
#[tokio::test]
async fn aws_config_and_botocore_resolve_the_same_credentials_and_region() {
    let server = serve_sample(
        |doc| doc["imds"]["tokens"] = toml_edit::value("required"),
        ServeOptions {
            extra_args: vec!["--identity".into(), "worker".into()],
            ..ServeOptions::default()
        },
    );
    let expected = Expected::sample_identity(1);
    let rust = aws::resolve(&server.url())
        .await
        .expect("aws-config resolves");
    assert_eq!(rust.access_key, expected.access_key);
    assert_eq!(rust.secret, expected.secret);
    assert_eq!(rust.token.as_deref(), Some(expected.token.as_str()));
    assert_eq!(rust.region.as_deref(), Some(expected.region.as_str()));
    let expiry = rust.expiry.expect("IMDS credentials carry an expiry");
    assert!(
        expiry > std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
        "expiry {expiry:?} should be hours ahead"
    );

    let Some(python) = python("case 44 (botocore half)") else {
        return;
    };
    // botocore is told to expect exactly what aws-config resolved...
    let from_rust = Expected {
        access_key: rust.access_key.clone(),
        secret: rust.secret.clone(),
        token: rust.token.clone().unwrap_or_default(),
        region: rust.region.clone().unwrap_or_default(),
        ..expected.clone()
    };
    let args = botocore_args(&server.url(), &from_rust, &["--expect-imds-version", "2"]);
    let run = run_script(&python, "botocore_check.py", &args);
    run.assert_ok("botocore with aws-config's values");
    // ...and its own report is compared field by field as well.
    for source in ["provider", "session"] {
        let got = &run.summary[source];
        assert_eq!(got["access_key"], rust.access_key.as_str(), "{source}");
        assert_eq!(
            got["secret_sha256"],
            sha_prefix(&rust.secret).as_str(),
            "{source}"
        );
        assert_eq!(
            got["token_sha256"],
            sha_prefix(rust.token.as_deref().unwrap_or_default()).as_str(),
            "{source}"
        );
    }
    assert_eq!(
        run.summary["region"]["fetcher"],
        rust.region.as_deref().unwrap_or_default()
    );
}

/// A `command` credential source runs once and its keys are served to every client while
/// they are fresh (docs/protocol.md case 39, first half).
#[tokio::test]
async fn command_source_runs_once_for_many_clients() {
    let dir = support::temp_dir();
    let counter = dir.path().join("runs");
    let expiration = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .replace_nanosecond(0)
        .expect("whole seconds")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format timestamp");
    let script = dir.path().join("creds.sh");
    support::write_script(
        &script,
        &format!(
            "echo run >> '{}'\n\
             printf '%s' '{{\"Version\":1,\"AccessKeyId\":\"ASIACOMMANDSOURCE01\",\
             \"SecretAccessKey\":\"commandSecretKeyForImdsSpoofTests000001\",\
             \"SessionToken\":\"commandSessionTokenForImdsSpoofTests\",\
             \"Expiration\":\"{expiration}\"}}'",
            counter.display()
        ),
    );
    let command = format!("sh '{}'", script.display());
    let mut doc = support::sample();
    support::set_role_source(&mut doc, 0, &[("source", "command"), ("command", &command)]);
    let config = support::write_config(dir.path(), "config.toml", &doc);
    let server = support::Server::start(&config);
    let expected = Expected {
        access_key: "ASIACOMMANDSOURCE01".into(),
        secret: "commandSecretKeyForImdsSpoofTests000001".into(),
        token: "commandSessionTokenForImdsSpoofTests".into(),
        ..Expected::sample_identity(0)
    };

    for round in 0..2 {
        let rust = aws::resolve(&server.url())
            .await
            .expect("aws-config resolves");
        assert_eq!(
            rust.access_key, expected.access_key,
            "aws-config round {round}"
        );
        assert_eq!(rust.secret, expected.secret, "aws-config round {round}");
        assert_eq!(rust.token.as_deref(), Some(expected.token.as_str()));
    }
    if let Some(python) = python("command source (botocore runs)") {
        for round in 0..2 {
            let args = botocore_args(&server.url(), &expected, &[]);
            run_script(&python, "botocore_check.py", &args)
                .assert_ok(&format!("botocore round {round}"));
        }
    }
    let runs = std::fs::read_to_string(&counter).expect("the command ran");
    assert_eq!(
        runs.lines().count(),
        1,
        "the command ran more than once: {runs:?}"
    );
}

/// docs/protocol.md case 57: the token PUT refused with 403, 404 or 405 while HttpTokens is optional.
/// botocore falls back to IMDSv1 and gets the credentials (`utils.py`
/// `_fetch_metadata_token`); aws-config has no IMDSv1 at all and fails
/// (`imds/client/token.rs`: 403 `Forbidden`, 404/405 `NoTtl`). Go v2 and JS v3 fall back like
/// botocore (docs/protocol.md §6); neither runs here.
#[tokio::test]
async fn case_57_a_refused_token_put_leaves_botocore_on_v1_and_aws_config_without() {
    let python = python("case 57 (botocore half)");
    for status in [403, 404, 405] {
        let server = serve_sample(
            |doc| {
                let mut fault = toml_edit::Table::new();
                fault["path_prefix"] = toml_edit::value("/latest/api/token");
                fault["kind"] = toml_edit::value("status");
                fault["status"] = toml_edit::value(status);
                let mut faults = toml_edit::ArrayOfTables::new();
                faults.push(fault);
                doc.insert("fault", toml_edit::Item::ArrayOfTables(faults));
            },
            ServeOptions::default(),
        );
        let rust = aws::resolve(&server.url()).await;
        assert!(
            rust.is_err(),
            "token PUT {status}: aws-config resolved credentials without a token: {rust:?}"
        );
        if let Some(python) = &python {
            let expected = Expected::sample_identity(0);
            let args = botocore_args(&server.url(), &expected, &["--expect-imds-version", "1"]);
            run_script(python, "botocore_check.py", &args)
                .assert_ok(&format!("token PUT {status}: botocore on IMDSv1"));
        }
    }
}
