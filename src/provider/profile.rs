//! A profile's credentials, resolved by AWS's own SDK (`aws-config`) exactly as the AWS CLI
//! resolves them: keys, `credential_process`, `role_arn` chains through `source_profile` or
//! `credential_source`, `sso_session` and legacy SSO profiles from the cache `aws sso login`
//! writes, web identity. It honours `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, and
//! the SDK's endpoint settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_STS`, a profile's
//! `endpoint_url`), so an emulator such as moto or LocalStack can stand in for STS.

use std::sync::Arc;
use std::time::Duration;

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider as TlsProvider};
use aws_smithy_types::error::display::DisplayErrorContext;
use time::OffsetDateTime;

use crate::imds::documents::Credentials;

use super::cache::Kept;
use super::clock::Clock;
use super::ProviderError;

/// How long one resolution may take: an SSO or STS round trip, a chain of them, or a
/// `credential_process`. Past it the caller gets the failure answer and the refresher
/// tries again.
pub(super) const PROFILE_TIMEOUT: Duration = Duration::from_secs(30);
/// Keys without an Expiration (long-term keys in a file) are read again after this, so an
/// edit to the files counts within a minute.
const LONG_TERM_REUSE: time::Duration = time::Duration::minutes(1);
/// Credentials with an Expiration are fetched again this long before it, as the CLI does.
const REFRESH_BEFORE_EXPIRY: time::Duration = time::Duration::minutes(5);
/// ...but kept at least this long, so short-lived ones are not fetched in a loop.
const MIN_REUSE: time::Duration = time::Duration::seconds(30);

/// The credentials of `profile` now, with how long they stay fresh and valid.
pub(super) async fn profile_credentials(
    profile: &str,
    clock: Arc<dyn Clock>,
) -> Result<Kept<Arc<Credentials>>, ProviderError> {
    let provider = ProfileFileCredentialsProvider::builder()
        .configure(&sdk_config())
        .profile_name(profile)
        .build();
    let resolved = tokio::time::timeout(PROFILE_TIMEOUT, provider.provide_credentials())
        .await
        .map_err(|_| ProviderError::Timeout {
            what: format!("profile {profile}"),
            timeout_ms: u64::try_from(PROFILE_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
        })?
        .map_err(|err| ProviderError::Credentials {
            source_name: format!("profile {profile}"),
            reason: explain(profile, &err),
        })?;
    let now = clock.now();
    let expiration = resolved.expiry().map(OffsetDateTime::from);
    let fresh_until = match expiration {
        Some(expiration) => (expiration - REFRESH_BEFORE_EXPIRY).max(now + MIN_REUSE),
        None => now + LONG_TERM_REUSE,
    };
    let (last_updated, shown_expiration) = match expiration {
        Some(expiration) => (now, expiration),
        // Long-term keys: shown as EC2 shows instance credentials, hours ahead.
        None => super::credentials::rolling_window(now),
    };
    let credentials = Credentials {
        access_key_id: resolved.access_key_id().to_string(),
        secret_access_key: resolved.secret_access_key().to_string(),
        token: resolved.session_token().map(str::to_string),
        expiration: shown_expiration,
        last_updated,
    };
    Ok(Kept {
        value: Arc::new(credentials),
        fresh_until,
        valid_until: expiration.unwrap_or(shown_expiration).max(fresh_until),
    })
}

/// The SDK's settings for every resolution: the real environment and files, and an HTTPS
/// client (rustls with ring) for STS, SSO and SSO-OIDC.
fn sdk_config() -> ProviderConfig {
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(TlsProvider::Rustls(CryptoMode::Ring))
        .build_https();
    ProviderConfig::default().with_http_client(client)
}

/// The SDK's error with its causes, and for the states a person can fix, what to run.
fn explain(profile: &str, err: &CredentialsError) -> String {
    let text = DisplayErrorContext(err).to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("sso") && lower.contains("expired") {
        return format!(
            "SSO login for profile {profile} has expired: run `aws sso login --profile {profile}` ({text})"
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_sso_logins_say_what_to_run() {
        let err =
            CredentialsError::provider_error("the SSO token has expired and cannot be refreshed");
        let text = explain("dev", &err);
        assert!(
            text.starts_with(
                "SSO login for profile dev has expired: run `aws sso login --profile dev`"
            ),
            "{text}"
        );
        let other = CredentialsError::not_loaded("profile dev is missing");
        assert!(!explain("dev", &other).contains("aws sso login"));
    }
}
