//! Where answers come from: the external-provider protocol with the real `imds-spoof
//! provider` program, a failing provider, AWS profiles, and a broken configuration file.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{self, aws, http, ServeOptions, Server, BIN};

/// An instance id only the provider program's configuration holds.
const PROVIDER_INSTANCE_ID: &str = "i-0aaaabbbbccccdddd";

/// A server whose `[provider] command` is `command`, with a generous timeout: the program
/// is a debug build started once per request on a busy machine.
fn serve_with_provider(dir: tempfile::TempDir, command: &[String]) -> Server {
    let mut doc = support::sample();
    let mut list = toml_edit::Array::new();
    for part in command {
        list.push(part.as_str());
    }
    doc["provider"]["command"] = toml_edit::value(list);
    doc["provider"]["timeout_ms"] = toml_edit::value(20_000);
    let config = support::write_config(dir.path(), "config.toml", &doc);
    Server::start(&config).keeping(dir)
}

/// docs/architecture.md "External provider": the broker runs `imds-spoof provider` per request and serves what it prints.
#[test]
fn external_provider_program_answers_through_the_broker() {
    let dir = support::temp_dir();
    let provider_dir = dir.path().join("provider");
    std::fs::create_dir(&provider_dir).expect("mkdir");
    let mut provider_doc = support::sample();
    provider_doc["identity"][0]["instance_id"] = toml_edit::value(PROVIDER_INSTANCE_ID);
    let provider_config = support::write_config(&provider_dir, "config.toml", &provider_doc);
    let command = vec![
        BIN.to_string(),
        "--config".to_string(),
        provider_config.display().to_string(),
        "provider".to_string(),
    ];
    let server = serve_with_provider(dir, &command);

    let response = http::get(server.addr, "/latest/meta-data/instance-id").unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.text(),
        PROVIDER_INSTANCE_ID,
        "answer from the provider's config"
    );
    assert_eq!(response.header("server"), Some("EC2ws"));
    let token = http::token(server.addr, "60");
    let response = http::get_v2(server.addr, "/latest/meta-data/placement/region", &token).unwrap();
    assert_eq!(response.text(), support::identity(0).region);
    http::get(server.addr, "/latest/meta-data/no-such-thing")
        .unwrap()
        .assert_ec2_error(404, "provider's 404");
}

/// docs/protocol.md case 40: a provider program that fails gives an IMDS-shaped 500, promptly, and the
/// server goes on serving what does not need the provider.
#[test]
fn failing_provider_program_gives_500_and_the_server_keeps_serving() {
    let command = ["sh", "-c", "exit 1"].map(String::from);
    let mut server = serve_with_provider(support::temp_dir(), &command);
    for path in [
        "/latest/meta-data/instance-id",
        "/latest/meta-data/iam/security-credentials/",
    ] {
        let started = Instant::now();
        let response = http::get(server.addr, path).unwrap();
        response.assert_ec2_error(500, path);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    let token = http::token(server.addr, "60");
    http::get_v2(server.addr, "/latest/meta-data/instance-id", &token)
        .unwrap()
        .assert_ec2_error(500, "v2 request to a failing provider");
    assert!(
        server.is_running(),
        "server died; stderr:\n{}",
        server.stderr()
    );
    assert!(
        server.stderr().contains("provider failed"),
        "the failure is reported: {}",
        server.stderr()
    );
}

/// A server whose default role reads `profile` through AWS_SHARED_CREDENTIALS_FILE and
/// AWS_CONFIG_FILE pointing at files in its directory.
fn serve_profile(profile: &str, credentials_file: &str, config_file: &str) -> Server {
    let dir = support::temp_dir();
    let credentials = dir.path().join("aws-credentials");
    let aws_config = dir.path().join("aws-config");
    std::fs::write(&credentials, credentials_file).expect("write credentials file");
    std::fs::write(&aws_config, config_file).expect("write config file");
    let mut doc = support::sample();
    support::set_role_source(&mut doc, 0, &[("source", "profile"), ("profile", profile)]);
    let config = support::write_config(dir.path(), "config.toml", &doc);
    let env = vec![
        (
            "AWS_SHARED_CREDENTIALS_FILE".to_string(),
            credentials.display().to_string(),
        ),
        (
            "AWS_CONFIG_FILE".to_string(),
            aws_config.display().to_string(),
        ),
        ("AWS_PROFILE".to_string(), "not-this-one".to_string()),
    ];
    Server::start_with(
        &config,
        ServeOptions {
            env,
            ..ServeOptions::default()
        },
    )
    .keeping(dir)
}

#[tokio::test]
async fn profile_source_serves_keys_from_the_shared_credentials_file() {
    let server = serve_profile(
        "dev",
        "[default]\naws_access_key_id = AKIADEFAULTWRONG0000\naws_secret_access_key = wrong\n\n\
         [dev]\naws_access_key_id = AKIAPROFILEDEV000001\n\
         aws_secret_access_key = profileDevSecretKeyForImdsSpoofTests0001\n\
         aws_session_token = profileDevSessionToken\n",
        "[profile dev]\nregion = eu-central-1\n",
    );
    let resolved = aws::resolve(&server.url())
        .await
        .expect("aws-config resolves");
    assert_eq!(resolved.access_key, "AKIAPROFILEDEV000001");
    assert_eq!(resolved.secret, "profileDevSecretKeyForImdsSpoofTests0001");
    assert_eq!(resolved.token.as_deref(), Some("profileDevSessionToken"));
}

#[tokio::test]
async fn profile_with_credential_process_serves_its_keys() {
    let scripts = support::temp_dir();
    let script = scripts.path().join("process.sh");
    support::write_script(
        &script,
        "printf '%s' '{\"Version\":1,\"AccessKeyId\":\"ASIAPROFILEPROCESS01\",\
         \"SecretAccessKey\":\"profileProcessSecretForImdsSpoofTests001\",\
         \"SessionToken\":\"profileProcessToken\",\"Expiration\":\"2099-01-01T00:00:00Z\"}'",
    );
    let server = serve_profile(
        "proc",
        "",
        &format!(
            "[profile proc]\ncredential_process = sh {}\n",
            script.display()
        ),
    );
    let resolved = aws::resolve(&server.url())
        .await
        .expect("aws-config resolves");
    assert_eq!(resolved.access_key, "ASIAPROFILEPROCESS01");
    assert_eq!(resolved.secret, "profileProcessSecretForImdsSpoofTests001");
    assert_eq!(resolved.token.as_deref(), Some("profileProcessToken"));
}

/// A syntax error stops `serve` with the file, line and column of the mistake.
#[test]
fn malformed_config_fails_with_file_line_and_column() {
    let dir = support::temp_dir();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "active_identity = \"default\"\n\n[imds]\ntokens = \n",
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .expect("run imds-spoof");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "serve accepted a broken file; stderr: {stderr}"
    );
    let located = format!("{}:4:", config.display());
    let at = stderr
        .find(&located)
        .unwrap_or_else(|| panic!("no {located}COL in: {stderr}"));
    let column: String = stderr[at + located.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!column.is_empty(), "no column after {located} in: {stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).trim().is_empty(),
        "nothing is served"
    );
}
