//! Container credentials doors against real clients (cases 60, 61, 68 on loopback):
//! botocore's ContainerProvider (tests/clients/container_check.py) and aws-config's
//! `EcsCredentialsProvider`, each with `AWS_CONTAINER_CREDENTIALS_FULL_URI` pointing at a
//! real `serve` and the token in `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::clients::run_script;
use crate::support::need::python;
use crate::support::{self, aws, identity, serve_sample, Expected, ServeOptions, Server, BIN};

/// Set in the child test process: the access key it must resolve.
const CHILD_EXPECT_KEY: &str = "IMDS_SPOOF_CONTAINER_CHILD_KEY";
const CHILD_EXPECT_SECRET: &str = "IMDS_SPOOF_CONTAINER_CHILD_SECRET";
const CHILD_TEST: &str = "containers::aws_config_container_provider_child";

/// `imds-spoof token --identity NAME --out DIR/NAME.token` for the server's configuration.
fn pod_token_file(server: &Server, identity: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{identity}.token"));
    let output = Command::new(BIN)
        .arg("--config")
        .arg(server.dir().join("config.toml"))
        .args(["token", "--identity", identity, "--ttl", "1h", "--out"])
        .arg(&out)
        .output()
        .expect("run imds-spoof token");
    assert!(output.status.success(), "{}", support::describe(&output));
    let written = std::fs::read(&out).expect("token file");
    assert!(
        !written.ends_with(b"\n") && written.len() > 100,
        "token file must have no trailing newline"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out)
        .expect("token file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "a token is a secret");
    out
}

/// A server writing its ECS container token to DIR/container-token.
fn serve_with_container_token(dir: &Path) -> (Server, PathBuf) {
    let token_file = dir.join("container-token");
    let server = serve_sample(
        |_| {},
        ServeOptions {
            extra_args: vec![
                "--container-token-file".into(),
                token_file.display().to_string(),
            ],
            ..ServeOptions::default()
        },
    );
    (server, token_file)
}

fn container_check_args(full_uri: &str, token_file: &Path, expected: &Expected) -> Vec<String> {
    vec![
        "--full-uri".into(),
        full_uri.into(),
        "--token-file".into(),
        token_file.display().to_string(),
    ]
    .into_iter()
    .chain(expected.client_args())
    .collect()
}

/// Case 68 on loopback: botocore with the env vars EKS injects (FULL_URI to
/// `/v1/credentials`, the token file `imds-spoof token` wrote) gets the role of the token's
/// identity, with its account.
#[test]
fn botocore_resolves_eks_pod_identity_credentials_from_a_token_file() {
    let test = "botocore EKS Pod Identity";
    let Some(python) = python(test) else {
        return;
    };
    let server = serve_sample(|_| {}, ServeOptions::default());
    let dir = support::temp_dir();
    let token_file = pod_token_file(&server, "worker", dir.path());
    let full_uri = format!("{}/v1/credentials", server.url());
    let mut args = container_check_args(&full_uri, &token_file, &Expected::sample_identity(1));
    args.extend(["--expect-account-id".into(), identity(1).account_id.clone()]);
    run_script(&python, "container_check.py", &args).assert_ok(test);
}

/// "Expire now" (an Expiration pinned in the past) at a container door: botocore's
/// container provider fails on lapsed credentials where its IMDS fetcher extends them, and
/// the agents never serve them, so the door renews the Expiration and botocore keeps
/// resolving the same keys.
#[test]
fn botocore_keeps_working_after_expire_now_at_the_eks_door() {
    let test = "botocore EKS after expire now";
    let Some(python) = python(test) else {
        return;
    };
    let server = serve_sample(
        |doc| {
            support::sample::role(doc, 1)["expiration"] = toml_edit::value("2020-01-01T00:00:00Z");
        },
        ServeOptions::default(),
    );
    let dir = support::temp_dir();
    let token_file = pod_token_file(&server, "worker", dir.path());
    let full_uri = format!("{}/v1/credentials", server.url());
    let args = container_check_args(&full_uri, &token_file, &Expected::sample_identity(1));
    run_script(&python, "container_check.py", &args).assert_ok(test);
}

/// Cases 60 and 61 on loopback: botocore with FULL_URI at the ECS path and serve's token
/// file gets the caller's identity; the file is read again on the next fetch, and a wrong
/// token there gets no credentials.
#[test]
fn botocore_resolves_ecs_credentials_with_serves_token_file() {
    let test = "botocore ECS FULL_URI";
    let Some(python) = python(test) else {
        return;
    };
    let dir = support::temp_dir();
    let (server, token_file) = serve_with_container_token(dir.path());
    let wrong = dir.path().join("wrong-token");
    std::fs::write(&wrong, "not-the-container-token").expect("write wrong token");
    let full_uri = format!("{}/v2/credentials/self", server.url());
    let mut args = container_check_args(&full_uri, &token_file, &Expected::sample_identity(0));
    args.extend(["--rewrite-token-to".into(), wrong.display().to_string()]);
    let run = run_script(&python, "container_check.py", &args);
    run.assert_ok(test);
    let after = &run.summary["after_rewrite"];
    assert!(
        after["error"].is_string() && after.get("access_key").is_none(),
        "a wrong token must get no credentials: {after}"
    );
}

/// Case 61 for aws-config: its ECS provider on loopback with FULL_URI + token file, for
/// the ECS door (serve's token) and the EKS door (a pod token). The provider reads the
/// process environment, so each resolution runs in a child process of this test binary.
#[test]
fn aws_config_container_provider_resolves_ecs_and_eks_on_loopback() {
    let dir = support::temp_dir();
    let (server, container_token) = serve_with_container_token(dir.path());
    let pod_token = pod_token_file(&server, "worker", dir.path());
    for (path, token_file, expected) in [
        (
            "/v2/credentials/worker",
            &container_token,
            Expected::sample_identity(1),
        ),
        (
            "/v2/credentials/self",
            &container_token,
            Expected::sample_identity(0),
        ),
        ("/v1/credentials", &pod_token, Expected::sample_identity(1)),
    ] {
        let mut child = Command::new(std::env::current_exe().expect("test binary"));
        child.args([CHILD_TEST, "--exact", "--ignored", "--nocapture"]);
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_") {
                child.env_remove(key);
            }
        }
        let output = child
            .env(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{}{path}", server.url()),
            )
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file)
            .env(CHILD_EXPECT_KEY, &expected.access_key)
            .env(CHILD_EXPECT_SECRET, &expected.secret)
            .output()
            .expect("run the child test");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "aws-config at {path}: {}",
            support::describe(&output)
        );
    }
}

/// The child of the test above; does nothing unless that test set its variables.
#[tokio::test]
#[ignore = "run by aws_config_container_provider_resolves_ecs_and_eks_on_loopback"]
async fn aws_config_container_provider_child() {
    let (Ok(key), Ok(secret)) = (
        std::env::var(CHILD_EXPECT_KEY),
        std::env::var(CHILD_EXPECT_SECRET),
    ) else {
        return;
    };
    let resolved = aws::resolve_container()
        .await
        .expect("aws-config resolves container credentials");
    assert_eq!(resolved.access_key, key);
    assert_eq!(resolved.secret, secret);
    let expiry = resolved
        .expiry
        .expect("container credentials carry an expiry");
    assert!(expiry > std::time::SystemTime::now());
}
