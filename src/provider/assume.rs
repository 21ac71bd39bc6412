//! `source = "assume-role"`: an STS session of a role for each caller, so CloudTrail tells
//! containers apart. The session is assumed with base credentials (a profile, or another
//! identity's static, profile or command credentials, themselves cached and refreshed),
//! at `[aws] endpoint_url`, `AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL` when set.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials as SdkCredentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::types::Tag;
use aws_smithy_types::error::display::DisplayErrorContext;
use time::OffsetDateTime;

use crate::config::AssumeRole;
use crate::imds::documents::Credentials;

use super::cache::Kept;
use super::clock::Clock;
use super::ProviderError;

/// One STS call may take this long; the refresher retries with back-off after it.
pub(super) const STS_TIMEOUT: Duration = Duration::from_secs(15);
/// Sessions are renewed this long before they expire.
const REFRESH_BEFORE_EXPIRY: time::Duration = time::Duration::minutes(5);
/// ...but kept at least this long, so a 15-minute session is not renewed in a loop.
const MIN_REUSE: time::Duration = time::Duration::seconds(30);
/// STS calls at once: a burst of new containers queues here rather than opening a
/// connection each (STS throttles, and so does the machine).
pub(super) static STS_CALLS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);

/// What STS allows in a role session name (`[\w+=,.@-]`, 2 to 64 characters).
const SESSION_NAME_MAX: usize = 64;

/// One session: the role, the settings that shape it, and its name for this caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct SessionKey {
    /// The identity the session is for (named when a code is needed).
    pub identity: String,
    pub role_arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
    pub duration: u32,
    pub policy: Option<String>,
    pub tags: Vec<(String, String)>,
    pub endpoint: Option<String>,
    /// The MFA device the role needs, if any (`mfa.rs`).
    pub mfa: Option<MfaKey>,
}

/// The device and how long its sessions last, as an assumed role names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct MfaKey {
    pub serial: String,
    pub duration: u32,
}

/// Who a session is for, to fill in the session name template.
pub struct Caller<'a> {
    /// The calling container's name; None for a process on the host (`serve`).
    pub container: Option<&'a str>,
    pub identity: &'a str,
    pub instance_id: &'a str,
}

impl SessionKey {
    pub(super) fn new(settings: &AssumeRole, caller: &Caller<'_>, endpoint: Option<&str>) -> Self {
        SessionKey {
            identity: caller.identity.to_string(),
            role_arn: settings.role_arn.clone(),
            session_name: session_name(&settings.session_name, caller),
            external_id: settings.external_id.clone(),
            duration: settings.duration,
            policy: settings.policy.clone(),
            tags: settings
                .session_tags
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            endpoint: endpoint
                .map(str::to_string)
                .or_else(|| std::env::var("AWS_ENDPOINT_URL_STS").ok())
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .filter(|url| !url.trim().is_empty()),
            mfa: settings.mfa_serial.as_ref().map(|serial| MfaKey {
                serial: serial.clone(),
                duration: settings.mfa_duration,
            }),
        }
    }
}

/// The template with the caller filled in, cleaned to what STS accepts: characters outside
/// `[A-Za-z0-9+=,.@_-]` become `-`, cut to 64, at least 2 long. A host caller is the host.
pub fn session_name(template: &str, caller: &Caller<'_>) -> String {
    let container = caller.container.unwrap_or(host_name());
    let filled = template
        .replace("{container}", container)
        .replace("{identity}", caller.identity)
        .replace("{instance_id}", caller.instance_id);
    let mut cleaned: String = filled
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(SESSION_NAME_MAX)
        .collect();
    while cleaned.len() < 2 {
        cleaned.push('-');
    }
    cleaned
}

/// This host's name, read once: every host caller's session is named after it.
fn host_name() -> &'static str {
    static NAME: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "host".to_string())
    });
    &NAME
}

/// Assumes the session's role with `base`: one STS call, bounded by [`STS_TIMEOUT`].
pub(super) async fn assume(
    key: &SessionKey,
    base: &Credentials,
    clock: Arc<dyn Clock>,
) -> Result<Kept<Arc<Credentials>>, ProviderError> {
    let source_name = format!("assume-role {} as {}", key.role_arn, key.session_name);
    let failure = |reason: String| ProviderError::Credentials {
        source_name: source_name.clone(),
        reason,
    };
    let client = sts_client(key.endpoint.as_deref(), base);
    let mut request = client
        .assume_role()
        .role_arn(&key.role_arn)
        .role_session_name(&key.session_name)
        .duration_seconds(i32::try_from(key.duration).unwrap_or(3600))
        .set_external_id(key.external_id.clone())
        .set_policy(key.policy.clone());
    for (name, value) in &key.tags {
        let tag = Tag::builder()
            .key(name)
            .value(value)
            .build()
            .map_err(|err| failure(format!("session tag {name}: {err}")))?;
        request = request.tags(tag);
    }
    // The wait for a turn counts against the same bound as the call.
    let answer = tokio::time::timeout(STS_TIMEOUT, async {
        let _turn = STS_CALLS.acquire().await;
        request.send().await
    })
    .await
    .map_err(|_| ProviderError::Timeout {
        what: source_name.clone(),
        timeout_ms: u64::try_from(STS_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
    })?
    .map_err(|err| failure(DisplayErrorContext(&err).to_string()))?;
    let issued = answer
        .credentials
        .ok_or_else(|| failure("STS answered without credentials".to_string()))?;
    let expiration = OffsetDateTime::from_unix_timestamp(issued.expiration.secs())
        .map_err(|err| failure(format!("STS's Expiration: {err}")))?;
    let now = clock.now();
    Ok(Kept {
        value: Arc::new(Credentials {
            access_key_id: issued.access_key_id,
            secret_access_key: issued.secret_access_key,
            token: Some(issued.session_token),
            expiration,
            last_updated: now,
        }),
        fresh_until: (expiration - REFRESH_BEFORE_EXPIRY).max(now + MIN_REUSE),
        valid_until: expiration.max(now + MIN_REUSE),
    })
}

/// An STS client signing with `base`, in us-east-1 unless `AWS_REGION` says otherwise.
pub(super) fn sts_client(endpoint: Option<&str>, base: &Credentials) -> aws_sdk_sts::Client {
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".to_string());
    let credentials = SdkCredentials::new(
        base.access_key_id.clone(),
        base.secret_access_key.clone(),
        base.token.clone(),
        None,
        "imds-spoof base credentials",
    );
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(credentials)
        .http_client(super::sdk_http::https_client());
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_sts::Client::from_conf(config.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(container: Option<&'static str>) -> Caller<'static> {
        Caller {
            container,
            identity: "worker",
            instance_id: "i-0123456789abcdef0",
        }
    }

    #[test]
    fn session_names_name_the_caller_in_what_sts_accepts() {
        assert_eq!(
            session_name("{container}", &caller(Some("shop-api-1"))),
            "shop-api-1"
        );
        assert_eq!(
            session_name("{identity}@{instance_id}", &caller(Some("x"))),
            "worker@i-0123456789abcdef0"
        );
        assert_eq!(session_name("{container}", &caller(Some("a/b c"))), "a-b-c");
        let long = "x".repeat(100);
        assert_eq!(session_name(&long, &caller(None)).len(), 64);
        assert_eq!(session_name("{container}", &caller(Some("a"))), "a-");
        // A host caller is named after the host.
        assert_eq!(
            session_name("{container}", &caller(None)),
            session_name(host_name(), &caller(None))
        );
    }
}
