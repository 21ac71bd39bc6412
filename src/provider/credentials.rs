//! Turning a role's credential source into the credentials IMDS serves.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};

use std::future::Future;
use std::pin::Pin;

use crate::config::{Config, CredentialSource, Identity, Role};
use crate::imds::documents::{derived_id, Credentials};
use crate::imds::time::parse_timestamp;

use super::assume::{assume, Caller, SessionKey};
use super::cache::{Accept, FreshHit, Kept, SingleFlightCache, FAILURE_BACKOFF};
use super::clock::{Clock, SystemClock};
use super::command::{describe_command_line, run_shell, CommandError};
use super::keys::{BaseKey, FetchKey};
use super::lifetime::rolling_window;
use super::mfa::{MfaBook, MfaNeeded};
use super::profile::profile_credentials;
use super::refresh_state::RefreshStates;
use super::ProviderError;

/// Command credentials are run again this long before they expire, as the AWS CLI does.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// Credentials that expire sooner than that are still reused this long, so a command
/// printing short-lived credentials is not run in a loop.
const MIN_REUSE: Duration = Duration::from_secs(30);
/// Command credentials without an Expiration are reused this long.
const NO_EXPIRY_REUSE: Duration = Duration::from_secs(15 * 60);

/// A fetch under way: boxed, because an assumed role's fetch may fetch its base first.
pub(super) type Fetching =
    Pin<Box<dyn Future<Output = Result<Kept<Arc<Credentials>>, ProviderError>> + Send>>;

/// Fetches the credentials of `key` once: runs the command, resolves the profile, or
/// assumes the role (with its base credentials from the same cache).
pub(super) fn fetch(shared: Arc<Shared>, key: FetchKey) -> Fetching {
    Box::pin(async move {
        let clock = shared.clock.clone();
        match key {
            FetchKey::Command { command, timeout } => {
                run_credential_process(&command, timeout, clock).await
            }
            FetchKey::Profile(profile) => profile_credentials(&profile, clock).await,
            FetchKey::AssumeRole { session, base } => {
                let base_key = (*base).clone();
                let base = match *base {
                    BaseKey::Static {
                        access_key_id,
                        secret_access_key,
                        session_token,
                    } => Arc::new(Credentials {
                        access_key_id,
                        secret_access_key,
                        token: session_token,
                        expiration: clock.now(),
                        last_updated: clock.now(),
                    }),
                    BaseKey::Fetched(base) => {
                        shared
                            .fetched
                            .get_or_compute(&base, Accept::Valid, || {
                                fetch(shared.clone(), base.clone())
                            })
                            .await?
                    }
                };
                let base = match &session.mfa {
                    None => base,
                    Some(mfa) => shared.mfa.session_for(
                        &base_key,
                        &base,
                        mfa,
                        &session.identity,
                        session.endpoint.as_deref(),
                        clock.now(),
                    )?,
                };
                assume(&session, &base, clock).await
            }
        }
    })
}

/// Resolved credentials, and whether the same answer may be served again without
/// resolving: only fresh cached command credentials may.
pub struct Resolved {
    pub credentials: Arc<Credentials>,
    pub reuse: Option<Reuse>,
}

impl Resolved {
    /// Credentials to be resolved anew on the next request.
    fn once(credentials: Arc<Credentials>) -> Self {
        Self {
            credentials,
            reuse: None,
        }
    }
}

/// How long a resolved answer stays the resolver's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reuse {
    generation: u64,
    until_unix_nanos: i128,
}

impl From<FreshHit> for Reuse {
    fn from(hit: FreshHit) -> Self {
        Self {
            generation: hit.generation,
            until_unix_nanos: hit.until.unix_timestamp_nanos(),
        }
    }
}

/// Resolves role credentials; command sources are cached and shared between callers,
/// and kept fresh by a background refresher when one runs (see `refresh.rs`).
#[derive(Clone)]
pub struct CredentialResolver {
    pub(super) shared: Arc<Shared>,
}

/// What the resolver and its refresher share.
pub(super) struct Shared {
    /// Shared values: a request takes a reference, not a copy of the keys.
    pub fetched: SingleFlightCache<FetchKey, Arc<Credentials>, ProviderError>,
    pub clock: Arc<dyn Clock>,
    /// Wakes the refresher: cached credentials were dropped or seen stale.
    pub nudge: Notify,
    /// Set while a refresher keeps the cache warm; requests then take any credentials
    /// not yet expired instead of waiting for a run.
    pub refreshed: std::sync::atomic::AtomicBool,
    pub states: watch::Sender<RefreshStates>,
    /// MFA sessions and the codes waited for (`mfa.rs`).
    pub mfa: MfaBook,
}

impl Default for CredentialResolver {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl CredentialResolver {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            shared: Arc::new(Shared {
                fetched: SingleFlightCache::new(clock.clone(), FAILURE_BACKOFF),
                clock,
                nudge: Notify::new(),
                refreshed: std::sync::atomic::AtomicBool::new(false),
                states: watch::channel(RefreshStates::new()).0,
                mfa: MfaBook::default(),
            }),
        }
    }

    pub async fn resolve(&self, role: &Role) -> Result<Credentials, ProviderError> {
        self.resolve_shared(role)
            .await
            .map(|credentials| credentials.as_ref().clone())
    }

    /// As [`CredentialResolver::resolve`], sharing cached credentials instead of copying
    /// them: the same `Arc` until they change.
    pub async fn resolve_shared(&self, role: &Role) -> Result<Arc<Credentials>, ProviderError> {
        Ok(self.resolve_reusable(role).await?.credentials)
    }

    /// As [`CredentialResolver::resolve_shared`], also telling how long the answer may
    /// be served again without asking (see [`CredentialResolver::is_current`]).
    pub async fn resolve_reusable(&self, role: &Role) -> Result<Resolved, ProviderError> {
        let (access_key_id, secret_access_key, session_token, expiration) = match &role.source {
            CredentialSource::Static {
                access_key_id,
                secret_access_key,
                session_token,
                expiration,
            } => (access_key_id, secret_access_key, session_token, expiration),
            CredentialSource::Command {
                command,
                timeout_ms,
            } => {
                return self
                    .credentials_of(FetchKey::command(command, *timeout_ms))
                    .await
            }
            CredentialSource::Profile { profile } => {
                return self
                    .credentials_of(FetchKey::Profile(profile.clone()))
                    .await
            }
            CredentialSource::AssumeRole(_) => {
                return Err(ProviderError::Credentials {
                    source_name: format!("role {}", role.name),
                    reason: "assume-role credentials are per caller: resolve_for".to_string(),
                })
            }
        };
        let (last_updated, rolling_expiration) = rolling_window(self.shared.clock.now());
        let expiration = match expiration {
            Some(text) => parse_timestamp(text).ok_or_else(|| ProviderError::Credentials {
                source_name: "static keys".to_string(),
                reason: format!("expiration {text:?} is not a timestamp"),
            })?,
            None => rolling_expiration,
        };
        Ok(Resolved::once(Arc::new(Credentials {
            access_key_id: access_key_id.clone(),
            secret_access_key: secret_access_key.clone(),
            token: session_token.clone(),
            expiration,
            last_updated,
        })))
    }

    /// As [`CredentialResolver::resolve_reusable`] for one caller: an assumed role is a
    /// session of its own per (identity, session name); other sources are shared.
    pub async fn resolve_for(
        &self,
        role: &Role,
        caller: &Caller<'_>,
        config: &Config,
    ) -> Result<Resolved, ProviderError> {
        let CredentialSource::AssumeRole(settings) = &role.source else {
            return self.resolve_reusable(role).await;
        };
        let base = BaseKey::of(settings, config).ok_or_else(|| ProviderError::Credentials {
            source_name: format!("role {}", role.name),
            reason: "from_identity names no identity with static, profile or command credentials"
                .to_string(),
        })?;
        let key = FetchKey::AssumeRole {
            session: Box::new(SessionKey::new(
                settings,
                caller,
                config.aws.endpoint_url.as_deref(),
            )),
            base: Box::new(base),
        };
        let resolved = self.credentials_of(key).await?;
        // Never reused by identity alone: each caller has its own session.
        Ok(Resolved::once(resolved.credentials))
    }

    /// Is an answer that [`CredentialResolver::resolve_reusable`] allowed to reuse still
    /// what a new resolution would give?
    pub fn is_current(&self, reuse: &Reuse) -> bool {
        reuse.generation == self.shared.fetched.generation()
            && self.shared.clock.unix_nanos() < reuse.until_unix_nanos
    }

    /// Cached credentials of a command or profile, or those of a fetch (the one in
    /// progress, or a new one). With a refresher, anything not yet expired is served.
    async fn credentials_of(&self, key: FetchKey) -> Result<Resolved, ProviderError> {
        let shared = &self.shared;
        let background = shared.refreshed.load(std::sync::atomic::Ordering::Acquire);
        let accept = if background {
            Accept::Valid
        } else {
            Accept::Fresh
        };
        let (result, hit) = shared
            .fetched
            .get_or_compute_noting(&key, accept, || fetch(shared.clone(), key.clone()))
            .await;
        if background && hit.is_none() {
            // The refresher's schedule was missed (a suspended laptop), a fetch failed,
            // or a request ran the command: let it look again.
            shared.nudge.notify_one();
        }
        result.map(|credentials| Resolved {
            credentials,
            reuse: hit.map(Reuse::from),
        })
    }

    /// The devices MFA codes are waited for, and who waits.
    pub fn mfa_needed(&self) -> Vec<MfaNeeded> {
        self.shared.mfa.needed()
    }

    /// Spends an MFA code (`imds-spoof mfa CODE`): one GetSessionToken for the device
    /// waited for; the sessions that failed for want of it are fetched again at once.
    pub async fn submit_mfa(&self, code: &str, serial: Option<&str>) -> Result<String, String> {
        let (serial, until) = self.shared.mfa.submit(code, serial).await?;
        self.shared.fetched.retain(|key| {
            !matches!(key, FetchKey::AssumeRole { session, .. }
                if session.mfa.as_ref().is_some_and(|mfa| mfa.serial == serial))
        });
        self.shared.nudge.notify_one();
        Ok(format!(
            "MFA session for {serial} until {}",
            crate::imds::time::format_timestamp(until)
        ))
    }

    /// Forgets fetched credentials ("rotate" in the dashboard); a running refresher
    /// fetches new ones at once.
    pub fn forget_cached(&self) {
        self.shared.fetched.clear();
        self.shared.nudge.notify_one();
    }

    /// Per identity with a command or profile source, where its credentials stand:
    /// fetching, fresh until a time, or failed with a reason. Updated by the background
    /// refresher (`BuiltinProvider::new` starts one); empty without it.
    pub fn refresh_states(&self) -> watch::Receiver<RefreshStates> {
        self.shared.states.subscribe()
    }
}

/// The credentials of the instance identity role (`identity-credentials/ec2/...`):
/// stable fake keys derived from the instance id.
pub fn identity_role_credentials(identity: &Identity) -> Credentials {
    let (last_updated, expiration) = rolling_window(OffsetDateTime::now_utc());
    let seed = format!("{}/{}", identity.account_id, identity.instance_id);
    Credentials {
        access_key_id: derived_id("ASIA", &seed)[..20].to_string(),
        // Three 17-character ids cover the 40 characters of a secret key.
        secret_access_key: format!(
            "{}{}{}",
            derived_id("", &seed),
            derived_id("", &format!("{seed}/s")),
            derived_id("", &format!("{seed}/s2"))
        )
        .chars()
        .take(40)
        .collect(),
        token: Some(format!(
            "imds-spoof-identity-{}",
            derived_id("", &format!("{seed}/t"))
        )),
        expiration,
        last_updated,
    }
}

/// The JSON a `credential_process` prints.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessCredentials {
    version: Option<u32>,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    expiration: Option<String>,
}

/// Runs a `credential_process` command and reads its JSON. The command line is named
/// with secret-looking arguments masked: errors end up in logs and the dashboard.
async fn run_credential_process(
    command: &str,
    timeout: Duration,
    clock: Arc<dyn Clock>,
) -> Result<Kept<Arc<Credentials>>, ProviderError> {
    let source_name = format!("command `{}`", describe_command_line(command));
    let failure = |reason: String| ProviderError::Credentials {
        source_name: source_name.clone(),
        reason,
    };
    let output = run_shell(command, timeout).await.map_err(|err| match err {
        CommandError::Timeout => ProviderError::Timeout {
            what: source_name.clone(),
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        },
        other => failure(other.to_string()),
    })?;
    if output.code != Some(0) {
        return Err(failure(format!(
            "exited with {} {}",
            output
                .code
                .map_or_else(|| "a signal".to_string(), |code| format!("status {code}")),
            output.stderr_summary()
        )));
    }
    let parsed: ProcessCredentials = serde_json::from_slice(&output.stdout)
        .map_err(|err| failure(format!("printed no credential_process JSON ({err})")))?;
    if parsed.version.is_some_and(|version| version != 1) {
        return Err(failure("Version must be 1".to_string()));
    }
    let now = clock.now();
    let (last_updated, rolling_expiration) = rolling_window(now);
    let (expiration, fresh_until) = match &parsed.expiration {
        Some(text) => {
            let expiration = parse_timestamp(text)
                .ok_or_else(|| failure(format!("Expiration {text:?} is not a timestamp")))?;
            (
                expiration,
                (expiration - REFRESH_BEFORE_EXPIRY).max(now + MIN_REUSE),
            )
        }
        None => (rolling_expiration, now + NO_EXPIRY_REUSE),
    };
    let credentials = Credentials {
        access_key_id: parsed.access_key_id,
        secret_access_key: parsed.secret_access_key,
        token: parsed.session_token,
        expiration,
        last_updated,
    };
    Ok(Kept {
        value: Arc::new(credentials),
        fresh_until,
        // Credentials already expired when printed are still served while fresh, as
        // they always were, rather than running the command for every request.
        valid_until: expiration.max(fresh_until),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_expiration_is_hours_ahead() {
        let now = OffsetDateTime::now_utc();
        let (issued, expiration) = rolling_window(now);
        assert!(issued <= now);
        assert!(expiration - now > time::Duration::hours(4));
    }

    fn command_role(command: &str, timeout_ms: u64) -> Role {
        Role {
            name: "r".to_string(),
            source: CredentialSource::Command {
                command: command.to_string(),
                timeout_ms,
            },
        }
    }

    #[tokio::test]
    async fn command_failures_are_explained() {
        let resolver = CredentialResolver::default();
        let err = resolver
            .resolve(&command_role("echo nope >&2; exit 2", 2000))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("status 2") && err.contains("nope"), "{err}");
        let err = resolver
            .resolve(&command_role("echo garbage", 2000))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("no credential_process JSON"), "{err}");
        let err = resolver
            .resolve(&command_role("sleep 10", 100))
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::Timeout { .. }), "{err}");
    }

    #[tokio::test]
    async fn command_credentials_are_parsed() {
        let resolver = CredentialResolver::default();
        let json = r#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","SessionToken":"T","Expiration":"2099-01-01T00:00:00Z"}"#;
        let credentials = resolver
            .resolve(&command_role(&format!("echo '{json}'"), 2000))
            .await
            .unwrap();
        assert_eq!(credentials.access_key_id, "AK");
        assert_eq!(credentials.token.as_deref(), Some("T"));
        assert!(credentials
            .to_imds_json()
            .contains("\"Expiration\" : \"2099-01-01T00:00:00Z\""));
    }
}
