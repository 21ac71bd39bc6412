//! A profile's credentials, resolved by AWS's own SDK (`aws-config`) exactly as the AWS CLI
//! resolves them: keys, `credential_process`, `role_arn` chains through `source_profile` or
//! `credential_source`, `sso_session` and legacy SSO profiles from the cache `aws sso login`
//! writes, web identity. It honours `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, and
//! the SDK's endpoint settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_STS`, a profile's
//! `endpoint_url`), so an emulator such as moto or LocalStack can stand in for STS.

use std::sync::Arc;
use std::time::Duration;

use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::region::Region;
use sha1::{Digest, Sha1};
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
        .configure(&sdk_config(profile).await)
        .profile_name(profile)
        .build();
    let resolved = tokio::time::timeout(PROFILE_TIMEOUT, provider.provide_credentials())
        .await
        .map_err(|_| ProviderError::Timeout {
            what: format!("profile {profile}"),
            timeout_ms: u64::try_from(PROFILE_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
        })?;
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(err) => {
            let expired = sso_login_expiry(profile).await;
            return Err(ProviderError::Credentials {
                source_name: format!("profile {profile}"),
                reason: explain(profile, &err, expired),
            });
        }
    };
    let now = clock.now();
    let expiration = resolved.expiry().map(OffsetDateTime::from);
    let fresh_until = match expiration {
        Some(expiration) => (expiration - REFRESH_BEFORE_EXPIRY).max(now + MIN_REUSE),
        None => now + LONG_TERM_REUSE,
    };
    let (last_updated, shown_expiration) = match expiration {
        Some(expiration) => (now, expiration),
        // Long-term keys: shown as EC2 shows instance credentials, hours ahead.
        None => super::lifetime::rolling_window(now),
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
/// STS is called in the region the CLI would use: `AWS_REGION` / `AWS_DEFAULT_REGION`,
/// else the profile's `region`, else us-east-1 (STS's global endpoint).
async fn sdk_config(profile: &str) -> ProviderConfig {
    let base = ProviderConfig::default().with_http_client(super::sdk_http::https_client());
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(
            ProfileFileRegionProvider::builder()
                .configure(&base)
                .profile_name(profile)
                .build(),
        )
        .or_else(Region::from_static("us-east-1"))
        .region()
        .await;
    base.with_region(region)
}

/// The SDK's error with its causes, and for the states a person can fix, what to run.
/// `expired_at`: when the profile's cached SSO login ran out, if it has.
fn explain(profile: &str, err: &CredentialsError, expired_at: Option<OffsetDateTime>) -> String {
    let text = DisplayErrorContext(err).to_string();
    let lower = text.to_ascii_lowercase();
    let when = match expired_at {
        Some(at) => format!(" at {}", format_minute(at)),
        None if lower.contains("sso") && lower.contains("expired") => String::new(),
        None => return text,
    };
    format!("SSO login for profile {profile} expired{when}: run `aws sso login --profile {profile}` ({text})")
}

/// "2026-12-07 14:02 UTC".
fn format_minute(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// When the SSO login `profile` uses ran out, if it is an SSO profile whose token in the
/// cache `aws sso login` writes (`~/.aws/sso/cache/<sha1 of the session name or start
/// URL>.json`) has expired. The SDK refreshes a refreshable token itself; this is asked
/// only after it failed, to tell the user when and what to run.
async fn sso_login_expiry(profile: &str) -> Option<OffsetDateTime> {
    let profiles = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &EnvConfigFiles::default(),
        Some(profile.to_string().into()),
    )
    .await
    .ok()?;
    let section = profiles.get_profile(profile)?;
    let identifier = section
        .get("sso_session")
        .or_else(|| section.get("sso_start_url"))?;
    let home = std::env::var_os("HOME")?;
    let digest = Sha1::digest(identifier.as_bytes());
    let name: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    let path = std::path::Path::new(&home)
        .join(".aws/sso/cache")
        .join(format!("{name}.json"));
    let text = read_small_file(&path)?;
    let cached: serde_json::Value = serde_json::from_str(&text).ok()?;
    let expires_at = crate::imds::time::parse_timestamp(cached.get("expiresAt")?.as_str()?)?;
    (expires_at <= OffsetDateTime::now_utc()).then_some(expires_at)
}

/// A token cache file is a few hundred bytes: anything else (a FIFO, a device, something
/// huge) is not read.
fn read_small_file(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(64 * 1024).read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_sso_logins_say_when_and_what_to_run() {
        let err =
            CredentialsError::provider_error("the SSO token has expired and cannot be refreshed");
        let text = explain("dev", &err, None);
        assert!(
            text.starts_with(
                "SSO login for profile dev expired: run `aws sso login --profile dev`"
            ),
            "{text}"
        );
        let at = OffsetDateTime::from_unix_timestamp(1_765_116_120).unwrap();
        let other = CredentialsError::not_loaded("profile dev is missing");
        let text = explain("dev", &other, Some(at));
        assert!(
            text.starts_with("SSO login for profile dev expired at 2025-12-07 14:02 UTC: run"),
            "{text}"
        );
        assert!(!explain("dev", &other, None).contains("aws sso login"));
    }
}
