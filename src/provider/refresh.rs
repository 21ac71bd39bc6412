//! Background refresh of command and profile credentials, so that no request waits on
//! a helper while credentials are cached: botocore gives IMDS one second, and
//! `aws configure export-credentials` alone takes about two.
//!
//! The refresher fetches every identity's credentials when it starts and whenever the
//! configuration changes, runs each command again ahead of its Expiration, retries
//! failures with a growing pause, and publishes where each identity stands.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::config::{Config, ConfigStore, CredentialSource};

use super::credentials::{fetch, CredentialResolver, Shared};
use super::keys::{BaseKey, FetchKey};
use super::refresh_state::{RefreshState, RefreshStates};

/// The refresher looks again this often even when nothing else happens.
const RECHECK: Duration = Duration::from_secs(60);
/// Pauses between retries of a failing fetch: 2 s, doubling up to 5 minutes.
const FIRST_RETRY: Duration = Duration::from_secs(2);
const LONGEST_RETRY: Duration = Duration::from_secs(5 * 60);

/// The identities with something to fetch (a command or a profile), from the configuration.
fn needs(config: &Config) -> Vec<(String, FetchKey)> {
    config
        .identities
        .iter()
        .filter_map(|identity| {
            let role = identity.role.as_ref()?;
            Some((identity.name.clone(), FetchKey::of(&role.source)?))
        })
        .collect()
}

/// Is `key` a session of a role some identity still assumes?
fn still_assumed(key: &FetchKey, config: &Config) -> bool {
    let FetchKey::AssumeRole { session, .. } = key else {
        return false;
    };
    config.identities.iter().any(|identity| {
        matches!(identity.role.as_ref().map(|role| &role.source),
            Some(CredentialSource::AssumeRole(settings)) if settings.role_arn == session.role_arn)
    })
}

/// The fetched base of a session (a profile or command it is assumed with).
fn base_of(key: &FetchKey) -> Option<&FetchKey> {
    match key {
        FetchKey::AssumeRole { base, .. } => match base.as_ref() {
            BaseKey::Fetched(base) => Some(base),
            BaseKey::Static { .. } => None,
        },
        _ => None,
    }
}

impl CredentialResolver {
    /// Starts the background refresher for the configurations `store` holds; it stops
    /// when the returned guard is dropped. Requests then take any unexpired credentials.
    /// Must be called within a tokio runtime (the refresher is a task on it).
    pub fn start_refresh(&self, store: ConfigStore) -> DropGuard {
        let cancel = CancellationToken::new();
        self.shared.refreshed.store(true, Ordering::Release);
        let refresher = Refresher {
            shared: self.shared.clone(),
            retries: HashMap::new(),
        };
        tokio::spawn(refresher.run(store, cancel.clone()));
        cancel.drop_guard()
    }
}

struct Refresher {
    shared: Arc<Shared>,
    /// Failed attempts in a row per command, for the retry pause.
    retries: HashMap<FetchKey, u32>,
}

impl Refresher {
    async fn run(mut self, store: ConfigStore, cancel: CancellationToken) {
        let mut configs = store.subscribe();
        let mut running: JoinSet<(FetchKey, bool)> = JoinSet::new();
        let mut in_flight: HashSet<FetchKey> = HashSet::new();
        loop {
            let config = configs.borrow_and_update().clone();
            let needs = needs(&config);
            // Per-caller sessions are made by requests; they are kept fresh while an
            // identity still assumes their role (and forgotten with it).
            let sessions: Vec<FetchKey> = self
                .shared
                .fetched
                .keys()
                .into_iter()
                .filter(|key| still_assumed(key, &config))
                .collect();
            let wanted: HashSet<&FetchKey> = needs
                .iter()
                .map(|(_, key)| key)
                .chain(&sessions)
                .chain(sessions.iter().filter_map(base_of))
                .collect();
            // Sources no longer configured are forgotten with their credentials.
            self.shared.fetched.retain(|key| wanted.contains(key));
            self.retries.retain(|key, _| wanted.contains(key));
            let now = self.shared.clock.now();
            let mut wake = now + RECHECK;
            for key in wanted {
                if in_flight.contains(key) {
                    continue;
                }
                let due = self.due(key);
                if due <= now {
                    in_flight.insert(key.clone());
                    let (shared, key) = (self.shared.clone(), key.clone());
                    running.spawn(async move {
                        let run = || fetch(shared.clone(), key.clone());
                        let ok = shared.fetched.refresh(&key, run).await.is_ok();
                        (key, ok)
                    });
                } else {
                    wake = wake.min(due);
                }
            }
            self.publish(&config, &needs, &in_flight);
            let sleep = self.shared.clock.sleep_until(wake);
            tokio::select! {
                () = cancel.cancelled() => return,
                () = sleep => {}
                () = self.shared.nudge.notified() => {}
                changed = configs.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                Some(done) = running.join_next() => {
                    if let Ok((key, ok)) = done {
                        in_flight.remove(&key);
                        if ok {
                            self.retries.remove(&key);
                        } else {
                            *self.retries.entry(key).or_default() += 1;
                        }
                    }
                }
            }
        }
    }

    /// When `key` should be fetched next: now when nothing is cached, at the refresh
    /// point when fresh, after the retry pause when the last fetch failed.
    fn due(&self, key: &FetchKey) -> OffsetDateTime {
        let status = self.shared.fetched.status(key);
        if let Some((_, failed_at)) = status.failure {
            return failed_at + self.retry_pause(key);
        }
        match status.kept {
            Some(kept) => kept.fresh_until,
            None => OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn retry_pause(&self, key: &FetchKey) -> Duration {
        let failures = self.retries.get(key).copied().unwrap_or(1).max(1);
        FIRST_RETRY
            .saturating_mul(1u32 << (failures - 1).min(16))
            .min(LONGEST_RETRY)
    }

    fn publish(
        &self,
        config: &Config,
        needs: &[(String, FetchKey)],
        in_flight: &HashSet<FetchKey>,
    ) {
        let mut states: RefreshStates = needs
            .iter()
            .map(|(identity, key)| {
                (
                    identity.clone(),
                    self.state_of(key, in_flight.contains(key)),
                )
            })
            .collect();
        for identity in &config.identities {
            if let Some(CredentialSource::AssumeRole(_)) = identity.role.as_ref().map(|r| &r.source)
            {
                states.insert(
                    identity.name.clone(),
                    self.sessions_of(&identity.name, in_flight),
                );
            }
        }
        self.shared.states.send_if_modified(|published| {
            let changed = *published != states;
            *published = states;
            changed
        });
    }

    /// An assumed role's sessions (by session name) and the MFA code it waits for.
    fn sessions_of(&self, identity: &str, in_flight: &HashSet<FetchKey>) -> RefreshState {
        let mut sessions: Vec<(String, RefreshState)> = self
            .shared
            .fetched
            .keys()
            .iter()
            .filter_map(|key| match key {
                FetchKey::AssumeRole { session, .. } if session.identity == identity => Some((
                    session.session_name.clone(),
                    self.state_of(key, in_flight.contains(key)),
                )),
                _ => None,
            })
            .collect();
        sessions.sort_by(|a, b| a.0.cmp(&b.0));
        let mfa_needed = self
            .shared
            .mfa
            .needed()
            .into_iter()
            .find(|needed| needed.identities.iter().any(|name| name == identity))
            .map(|needed| needed.serial);
        RefreshState::Sessions {
            sessions,
            mfa_needed,
        }
    }

    fn state_of(&self, key: &FetchKey, fetching: bool) -> RefreshState {
        let status = self.shared.fetched.status(key);
        let serving_until = status.kept.as_ref().map(|kept| kept.valid_until);
        if fetching || status.computing {
            return RefreshState::Fetching { serving_until };
        }
        match (status.failure, status.kept) {
            (Some((error, failed_at)), _) => RefreshState::Failed {
                reason: error.to_string(),
                failed_at,
                retry_at: failed_at + self.retry_pause(key),
                serving_until,
            },
            (None, Some(kept)) => RefreshState::Fresh {
                expiration: kept.value.expiration,
                refresh_at: kept.fresh_until,
            },
            (None, None) => RefreshState::Fetching { serving_until },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CredentialSource;
    use crate::provider::clock::ManualClock;

    fn sample() -> Config {
        crate::config::parse(
            std::path::Path::new("sample.toml"),
            crate::config::SAMPLE_CONFIG,
        )
        .unwrap()
    }

    #[test]
    fn command_and_profile_sources_need_fetching() {
        let mut config = sample();
        assert!(needs(&config).is_empty(), "static keys need no fetching");
        if let Some(role) = config.identities[1].role.as_mut() {
            role.source = CredentialSource::Command {
                command: "creds".into(),
                timeout_ms: 700,
            };
        }
        let needs = needs(&config);
        assert_eq!(needs.len(), 1);
        assert_eq!(needs[0].0, "worker");
        assert_eq!(needs[0].1, FetchKey::command("creds", 700));
        if let Some(role) = config.identities[0].role.as_mut() {
            role.source = CredentialSource::Profile {
                profile: "dev".into(),
            };
        }
        let needs = super::needs(&config);
        assert_eq!(needs.len(), 2);
        assert_eq!(
            needs[0],
            ("default".into(), FetchKey::Profile("dev".into()))
        );
    }

    #[test]
    fn retries_pause_longer_after_each_failure() {
        let resolver =
            CredentialResolver::new(Arc::new(ManualClock::new(OffsetDateTime::UNIX_EPOCH)));
        let mut refresher = Refresher {
            shared: resolver.shared.clone(),
            retries: HashMap::new(),
        };
        let key = FetchKey::command("c", 1000);
        let mut pauses = Vec::new();
        for failures in 1..=10 {
            refresher.retries.insert(key.clone(), failures);
            pauses.push(refresher.retry_pause(&key).as_secs());
        }
        assert_eq!(pauses, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }
}
