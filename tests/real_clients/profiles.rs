//! `source = "profile"` against botocore (the AWS CLI's own resolver) on ten profile shapes,
//! with moto's server as STS: what imds-spoof serves for a profile belongs to the same role
//! as what botocore resolves, and a profile botocore cannot resolve is a clear error here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::clients::{profile_check, whoami};
use crate::support::http;
use crate::support::moto::{assume_app_role, Moto};
use crate::support::need::python;
use crate::support::{self, identity, ServeOptions, Server};

const ACCOUNT: &str = "123456789012";

/// The files every case reads: one config, one credentials file, the SSO token cache.
const CONFIG: &str = r#"
[default]
region = us-east-1

[profile keys]
region = us-east-1

[profile proc]
region = us-east-1
credential_process = sh PROCESS

[profile one]
region = us-east-1
role_arn = arn:aws:iam::123456789012:role/one
source_profile = keys

[profile two]
region = us-east-1
role_arn = arn:aws:iam::123456789012:role/two
source_profile = one

[profile env]
region = us-east-1
role_arn = arn:aws:iam::123456789012:role/env
credential_source = Environment

[profile missing]
region = us-east-1
role_arn = arn:aws:iam::123456789012:role/missing
source_profile = nowhere

[profile loop-a]
region = us-east-1
role_arn = arn:aws:iam::123456789012:role/a
source_profile = loop-b

[profile loop-b]
region = us-east-1
role_arn = arn:aws:iam::123456789012:role/b
source_profile = loop-a

[profile nothing]
region = us-east-1

[profile sso-expired]
region = us-east-1
sso_session = corp
sso_account_id = 123456789012
sso_role_name = dev

[profile sso-legacy-expired]
region = us-east-1
sso_start_url = https://legacy.example.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = dev

[sso-session corp]
sso_start_url = https://corp.example.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"#;

const CREDENTIALS: &str = "[keys]\n\
    aws_access_key_id = AKIAPROFILEKEYS00001\n\
    aws_secret_access_key = profileKeysSecretForImdsSpoofTests00001\n";

/// What both sides should make of a profile.
enum Expect {
    /// Credentials whose caller identity ends with this (`user/…` or `assumed-role/ROLE/`).
    Arn(&'static str),
    /// No credentials; imds-spoof's reason contains every one of these.
    Error(&'static [&'static str]),
}

const CASES: &[(&str, Expect)] = &[
    ("keys", Expect::Arn(":user/moto")),
    ("proc", Expect::Arn(":user/moto")),
    ("one", Expect::Arn(":assumed-role/one/")),
    ("two", Expect::Arn(":assumed-role/two/")),
    ("env", Expect::Arn(":assumed-role/env/")),
    ("missing", Expect::Error(&["nowhere"])),
    ("loop-a", Expect::Error(&["loop"])),
    ("nothing", Expect::Error(&["nothing"])),
    (
        "sso-expired",
        Expect::Error(&[
            "SSO login for profile sso-expired expired at 2020-01-01 00:00 UTC",
            "aws sso login --profile sso-expired",
        ]),
    ),
    (
        "sso-legacy-expired",
        Expect::Error(&[
            "SSO login for profile sso-legacy-expired expired at 2020-01-01 00:00 UTC",
            "aws sso login --profile sso-legacy-expired",
        ]),
    ),
];

/// The AWS files in `home`, with the SSO token cache `aws sso login` would have left,
/// expired.
fn write_aws_files(home: &Path) -> (PathBuf, PathBuf) {
    let aws = home.join(".aws");
    let cache = aws.join("sso/cache");
    std::fs::create_dir_all(&cache).expect("sso cache dir");
    let process = home.join("process.sh");
    support::write_script(
        &process,
        "printf '%s' '{\"Version\":1,\"AccessKeyId\":\"AKIAPROFILEKEYS00001\",\
         \"SecretAccessKey\":\"profileKeysSecretForImdsSpoofTests00001\"}'",
    );
    let config = aws.join("config");
    let text = CONFIG.replace("PROCESS", &process.display().to_string());
    std::fs::write(&config, text).expect("write config");
    let credentials = aws.join("credentials");
    std::fs::write(&credentials, CREDENTIALS).expect("write credentials");
    for (identifier, start_url) in [
        ("corp", "https://corp.example.com/start"),
        (
            "https://legacy.example.com/start",
            "https://legacy.example.com/start",
        ),
    ] {
        let token = serde_json::json!({
            "accessToken": "expired-sso-access-token",
            "expiresAt": "2020-01-01T00:00:00Z",
            "region": "us-east-1",
            "startUrl": start_url,
        });
        std::fs::write(
            cache.join(format!("{}.json", sha1_hex(identifier))),
            token.to_string(),
        )
        .expect("write token cache");
    }
    (config, credentials)
}

fn sha1_hex(text: &str) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The environment both sides resolve in: only these AWS settings.
fn environment(home: &Path, config: &Path, credentials: &Path, sts: &str) -> Vec<(String, String)> {
    [
        ("HOME", home.display().to_string()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.display().to_string(),
        ),
        ("AWS_ENDPOINT_URL_STS", sts.to_string()),
        ("AWS_ENDPOINT_URL_SSO", sts.to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        // For `credential_source = Environment` only: a named profile ignores them.
        ("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001".to_string()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "environmentSecretForImdsSpoofTests0001".to_string(),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect()
}

/// imds-spoof's answer for the default identity when its role reads `profile`.
fn served(profile: &str, home: &Path, env: &[(String, String)]) -> (Server, http::Response) {
    let mut doc = support::sample();
    support::set_role_source(&mut doc, 0, &[("source", "profile"), ("profile", profile)]);
    let config = support::write_config(home, &format!("{profile}.toml"), &doc);
    let server = Server::start_with(
        &config,
        ServeOptions {
            env: env.to_vec(),
            ..ServeOptions::default()
        },
    );
    let path = format!(
        "/latest/meta-data/iam/security-credentials/{}",
        identity(0).role.as_ref().expect("role").name
    );
    let answer = http::get(server.addr, &path).expect("ask imds-spoof");
    (server, answer)
}

#[test]
fn profiles_resolve_as_botocore_resolves_them() {
    let test = "profile shapes against botocore and moto";
    let Some(python) = python(test) else {
        return;
    };
    let moto = Moto::start(&python);
    let home = support::temp_dir();
    let (config, credentials) = write_aws_files(home.path());
    let env = environment(home.path(), &config, &credentials, &moto.url);
    let mut table = Vec::new();
    for (profile, expect) in CASES {
        let reference = profile_check(&python, &env, &["resolve", profile]);
        let (server, answer) = served(profile, home.path(), &env);
        let ours = match answer.status {
            200 => {
                let document: Value = serde_json::from_str(&answer.text()).expect("JSON");
                Ok(whoami(&python, &moto.url, &document))
            }
            status => {
                // The reason is logged as the answer goes out: wait for the line.
                let logged = support::wait_for(Duration::from_secs(10), || {
                    let stderr = server.stderr();
                    stderr.contains("provider failed").then_some(stderr)
                });
                Err(format!(
                    "{status}: {}",
                    logged.unwrap_or_else(|| server.stderr())
                ))
            }
        };
        table.push(format!(
            "{profile:<20} botocore {:<60} imds-spoof {}",
            reference["arn"]
                .as_str()
                .or(reference["error"].as_str())
                .unwrap_or_default(),
            match &ours {
                Ok(arn) => arn.clone(),
                Err(err) => err.lines().last().unwrap_or_default().to_string(),
            }
        ));
        match expect {
            Expect::Arn(suffix) => {
                let reference_arn = reference["arn"].as_str().unwrap_or_default();
                assert!(
                    reference_arn.starts_with(&format!("arn:aws:sts::{ACCOUNT}"))
                        || reference_arn.starts_with(&format!("arn:aws:iam::{ACCOUNT}")),
                    "botocore on {profile}: {reference}"
                );
                assert!(
                    reference_arn.contains(suffix),
                    "botocore on {profile}: {reference}"
                );
                let ours = ours.unwrap_or_else(|err| panic!("imds-spoof on {profile}: {err}"));
                assert!(ours.contains(suffix), "imds-spoof on {profile}: {ours}");
            }
            Expect::Error(parts) => {
                assert_eq!(
                    reference["ok"], false,
                    "botocore resolved {profile}: {reference}"
                );
                let reason = ours.expect_err(&format!("imds-spoof resolved {profile}"));
                for part in *parts {
                    assert!(
                        reason.to_lowercase().contains(&part.to_lowercase()),
                        "imds-spoof on {profile} should say {part:?}:\n{reason}"
                    );
                }
            }
        }
        drop(server);
    }
    // moto issues new keys for every AssumeRole, so the two sides are compared by the
    // role the keys belong to, not by the keys.
    eprintln!("{}", table.join("\n"));
}

/// `source = "assume-role"` on `serve`: the caller is this host, so the session is named
/// after it; with `from_identity` the base is another identity's static keys.
#[test]
fn an_assumed_role_session_is_named_after_its_caller() {
    let test = "assume-role on serve against moto";
    let Some(python) = python(test) else {
        return;
    };
    let moto = Moto::start(&python);
    let mut doc = support::sample();
    assume_app_role(&mut doc, &moto.url, None);
    let dir = support::temp_dir();
    let config = support::write_config(dir.path(), "config.toml", &doc);
    let server = Server::start(&config).keeping(dir);
    let path = format!(
        "/latest/meta-data/iam/security-credentials/{}",
        identity(0).role.as_ref().expect("role").name
    );
    let first = http::get(server.addr, &path).expect("ask imds-spoof");
    assert_eq!(first.status, 200, "{}\n{}", first.text(), server.stderr());
    let document: Value = serde_json::from_str(&first.text()).expect("JSON");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let arn = whoami(&python, &moto.url, &document);
    assert_eq!(
        arn,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/{}", host.trim()),
        "{document}"
    );
    // The same caller is served the same session until it is renewed.
    let again: Value =
        serde_json::from_str(&http::get(server.addr, &path).expect("again").text()).expect("JSON");
    assert_eq!(again["AccessKeyId"], document["AccessKeyId"]);
}

/// An assumed-role session on a clock the test moves: renewed in the background ahead of
/// its Expiration with no request waiting; through an STS outage the last good keys are
/// served until they expire, then EC2's failure; and it recovers when STS is back.
#[test]
fn assumed_role_sessions_are_renewed_ahead_and_survive_an_sts_outage() {
    use imds_spoof::config::ConfigStore;
    use imds_spoof::provider::{BuiltinProvider, ManualClock, Provider, ProviderRequest};

    let test = "assume-role refresh and STS outage against moto";
    let Some(python) = python(test) else {
        return;
    };
    let mut moto = Moto::start(&python);
    let port = moto.port();
    let mut config = support::sample_config();
    let worker = identity(1).name.clone();
    if let Some(role) = config.identities[0].role.as_mut() {
        role.source =
            imds_spoof::config::CredentialSource::AssumeRole(imds_spoof::config::AssumeRole {
                role_arn: format!("arn:aws:iam::{ACCOUNT}:role/app"),
                base: imds_spoof::config::AssumeBase::FromIdentity(worker),
                session_name: "{container}".into(),
                external_id: None,
                duration: 900,
                policy: None,
                session_tags: Default::default(),
                mfa_serial: None,
                mfa_duration: imds_spoof::config::DEFAULT_MFA_DURATION,
            });
    }
    config.aws.endpoint_url = Some(moto.url.clone());
    let start = time::OffsetDateTime::now_utc();
    let clock = ManualClock::new(start);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    // Built inside the runtime: the background refresher runs on the manual clock.
    let provider = BuiltinProvider::with_clock(
        ConfigStore::in_memory(config),
        crate::support::broker::SIGNER.clone(),
        std::sync::Arc::new(clock.clone()),
    );
    let path = format!(
        "/latest/meta-data/iam/security-credentials/{}",
        identity(0).role.as_ref().expect("role").name
    );
    let ask = || {
        let request = ProviderRequest {
            method: "GET".into(),
            path: path.clone(),
            identity: identity(0).name.clone(),
            caller_ip: None,
            caller_container: Some("app-1".into()),
        };
        runtime
            .block_on(provider.answer(&request))
            .ok()
            .filter(|answer| answer.status == 200)
            .and_then(|answer| serde_json::from_slice::<Value>(&answer.body).ok())
            .map(|document| {
                document["AccessKeyId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
    };
    let first = ask().expect("a first session");
    assert_eq!(
        ask().as_deref(),
        Some(first.as_str()),
        "the same session again"
    );

    // Past the renewal point (Expiration - 5 min) but not the Expiration: the refresher
    // renews; every request meanwhile is answered at once with keys still valid.
    clock.advance(Duration::from_secs(11 * 60));
    let renewed = support::wait_for(Duration::from_secs(20), || {
        ask().filter(|key| *key != first)
    })
    .expect("renewed in the background");

    // STS goes away: the renewed keys are served until they expire...
    moto.stop();
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        ask().as_deref(),
        Some(renewed.as_str()),
        "last good keys during the outage"
    );
    // ...then the caller gets the failure answer.
    clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(
        ask(),
        None,
        "no expired keys after the outage outlasts them"
    );

    // STS is back: the next try (within the longest back-off) brings a new session.
    let _moto = Moto::start_on(&python, port);
    clock.advance(Duration::from_secs(6 * 60));
    let recovered = support::wait_for(Duration::from_secs(20), || {
        clock.advance(Duration::from_secs(30));
        ask()
    })
    .expect("recovered after the outage");
    assert_ne!(recovered, renewed);
}

/// An assumed role config with `mfa_serial` whose base is the worker identity's keys.
fn mfa_config(moto: &Moto) -> toml_edit::DocumentMut {
    let mut doc = support::sample();
    assume_app_role(&mut doc, &moto.url, Some(MFA_DEVICE));
    doc
}

const MFA_DEVICE: &str = "arn:aws:iam::123456789012:mfa/me";

/// `imds-spoof mfa CODE` against a running `serve`: credentials fail (saying a code is
/// needed and how to give it) until the code is handed over, then the role is assumed.
#[test]
fn an_mfa_code_handed_to_serve_unlocks_the_role() {
    let test = "mfa through the control socket against moto";
    let Some(python) = python(test) else {
        return;
    };
    let moto = Moto::start(&python);
    let dir = support::temp_dir();
    let config = support::write_config(dir.path(), "config.toml", &mfa_config(&moto));
    let server = Server::start(&config).keeping(dir);
    let path = format!(
        "/latest/meta-data/iam/security-credentials/{}",
        identity(0).role.as_ref().expect("role").name
    );
    let refused = http::get(server.addr, &path).expect("ask imds-spoof");
    assert_eq!(refused.status, 500, "no credentials before the code");
    let needed = format!(
        "MFA code needed for {MFA_DEVICE} (for identity {}): run `imds-spoof mfa CODE`",
        identity(0).name
    );
    assert!(
        support::wait_until(Duration::from_secs(10), || server
            .stderr()
            .contains(&needed)),
        "the log says what is needed:\n{}",
        server.stderr()
    );

    let mfa = |code: &str| {
        std::process::Command::new(support::BIN)
            .args(["mfa", code])
            .output()
            .expect("run imds-spoof mfa")
    };
    let bad = mfa("12345");
    assert!(!bad.status.success(), "five digits are no code");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("six digits"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let good = mfa("123456");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(String::from_utf8_lossy(&good.stdout)
        .contains(&format!("MFA session for {MFA_DEVICE} until")));

    let served = http::get(server.addr, &path).expect("ask again");
    assert_eq!(served.status, 200, "{}\n{}", served.text(), server.stderr());
    let document: Value = serde_json::from_str(&served.text()).expect("JSON");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    assert_eq!(
        whoami(&python, &moto.url, &document),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/{}", host.trim())
    );
}

/// One code serves every caller: two containers' sessions are assumed with the one MFA
/// session, the second without asking again.
#[test]
fn one_mfa_code_serves_every_container() {
    use imds_spoof::config::ConfigStore;
    use imds_spoof::provider::{BuiltinProvider, Provider, ProviderRequest};

    let test = "one mfa code for many callers against moto";
    let Some(python) = python(test) else {
        return;
    };
    let moto = Moto::start(&python);
    let dir = support::temp_dir();
    let path = support::write_config(dir.path(), "config.toml", &mfa_config(&moto));
    let config = imds_spoof::config::load(&path).expect("config loads");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    let provider = BuiltinProvider::new(
        ConfigStore::in_memory(config),
        crate::support::broker::SIGNER.clone(),
    );
    let credentials_path = format!(
        "/latest/meta-data/iam/security-credentials/{}",
        identity(0).role.as_ref().expect("role").name
    );
    let ask = |container: &str| {
        let request = ProviderRequest {
            method: "GET".into(),
            path: credentials_path.clone(),
            identity: identity(0).name.clone(),
            caller_ip: None,
            caller_container: Some(container.into()),
        };
        runtime
            .block_on(provider.answer(&request))
            .ok()
            .filter(|answer| answer.status == 200)
            .and_then(|answer| serde_json::from_slice::<Value>(&answer.body).ok())
    };
    assert!(ask("app-1").is_none(), "no credentials before the code");
    let needed = provider.credentials().mfa_needed();
    assert_eq!(needed.len(), 1);
    assert_eq!(needed[0].serial, MFA_DEVICE);
    runtime
        .block_on(provider.credentials().submit_mfa("123456", None))
        .expect("the code is taken");
    assert!(provider.credentials().mfa_needed().is_empty());
    let first = ask("app-1").expect("app-1 after the code");
    let second = ask("app-2").expect("app-2 without another code");
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"], "two sessions");
    assert_eq!(
        whoami(&python, &moto.url, &second),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/app-2")
    );
}
