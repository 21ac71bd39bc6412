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

use super::credentials::{
    read_profile_credentials, run_credential_process, CommandKey, CredentialResolver, Shared,
    PROFILE_PROCESS_TIMEOUT,
};
use super::profile::ProfileCredentials;
use super::refresh_state::{RefreshState, RefreshStates};

/// Profiles are read again this often even when nothing else happens, so an edit to
/// `~/.aws/config` is picked up.
const RECHECK: Duration = Duration::from_secs(60);
/// Pauses between retries of a failing command: 2 s, doubling up to 5 minutes.
const FIRST_RETRY: Duration = Duration::from_secs(2);
const LONGEST_RETRY: Duration = Duration::from_secs(5 * 60);

/// What an identity's credentials need.
enum Need {
    Command(CommandKey),
    /// Its profile cannot be read; retried at the next recheck.
    Unreadable(String),
}

/// The identities with something to fetch, read from the configuration and profiles.
fn needs(config: &Config) -> Vec<(String, Need)> {
    let mut needs = Vec::new();
    for identity in &config.identities {
        let Some(role) = &identity.role else {
            continue;
        };
        let need = match &role.source {
            CredentialSource::Static { .. } => continue,
            CredentialSource::Command {
                command,
                timeout_ms,
            } => Need::Command(CommandKey {
                command: command.clone(),
                timeout: Duration::from_millis(*timeout_ms),
            }),
            CredentialSource::Profile { profile } => match read_profile_credentials(profile) {
                Ok(ProfileCredentials::Keys { .. }) => continue,
                Ok(ProfileCredentials::Process(command)) => Need::Command(CommandKey {
                    command,
                    timeout: PROFILE_PROCESS_TIMEOUT,
                }),
                Err(err) => Need::Unreadable(err.to_string()),
            },
        };
        needs.push((identity.name.clone(), need));
    }
    needs
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
    retries: HashMap<CommandKey, u32>,
}

impl Refresher {
    async fn run(mut self, store: ConfigStore, cancel: CancellationToken) {
        let mut configs = store.subscribe();
        let mut running: JoinSet<(CommandKey, bool)> = JoinSet::new();
        let mut in_flight: HashSet<CommandKey> = HashSet::new();
        loop {
            let config = configs.borrow_and_update().clone();
            let needs = needs(&config);
            let wanted: HashSet<&CommandKey> = needs
                .iter()
                .filter_map(|(_, need)| match need {
                    Need::Command(key) => Some(key),
                    Need::Unreadable(_) => None,
                })
                .collect();
            // Commands no longer configured are forgotten with their credentials.
            self.shared.commands.retain(|key| wanted.contains(key));
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
                        let clock = shared.clock.clone();
                        let run = || run_credential_process(key.clone(), clock);
                        let ok = shared.commands.refresh(&key, run).await.is_ok();
                        (key, ok)
                    });
                } else {
                    wake = wake.min(due);
                }
            }
            self.publish(&needs, &in_flight);
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
    fn due(&self, key: &CommandKey) -> OffsetDateTime {
        let status = self.shared.commands.status(key);
        if let Some((_, failed_at)) = status.failure {
            return failed_at + self.retry_pause(key);
        }
        match status.kept {
            Some(kept) => kept.fresh_until,
            None => OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn retry_pause(&self, key: &CommandKey) -> Duration {
        let failures = self.retries.get(key).copied().unwrap_or(1).max(1);
        FIRST_RETRY
            .saturating_mul(1u32 << (failures - 1).min(16))
            .min(LONGEST_RETRY)
    }

    fn publish(&self, needs: &[(String, Need)], in_flight: &HashSet<CommandKey>) {
        let now = self.shared.clock.now();
        let states: RefreshStates = needs
            .iter()
            .map(|(identity, need)| {
                let state = match need {
                    Need::Unreadable(reason) => RefreshState::Failed {
                        reason: reason.clone(),
                        failed_at: now,
                        retry_at: now + RECHECK,
                        serving_until: None,
                    },
                    Need::Command(key) => self.state_of(key, in_flight.contains(key)),
                };
                (identity.clone(), state)
            })
            .collect();
        self.shared.states.send_if_modified(|published| {
            let changed = *published != states;
            *published = states;
            changed
        });
    }

    fn state_of(&self, key: &CommandKey, fetching: bool) -> RefreshState {
        let status = self.shared.commands.status(key);
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
    use crate::provider::clock::ManualClock;

    fn sample() -> Config {
        crate::config::parse(
            std::path::Path::new("sample.toml"),
            crate::config::SAMPLE_CONFIG,
        )
        .unwrap()
    }

    #[test]
    fn only_command_sources_need_fetching() {
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
        assert!(matches!(&needs[0].1, Need::Command(key)
            if key.command == "creds" && key.timeout == Duration::from_millis(700)));
    }

    #[test]
    fn retries_pause_longer_after_each_failure() {
        let resolver =
            CredentialResolver::new(Arc::new(ManualClock::new(OffsetDateTime::UNIX_EPOCH)));
        let mut refresher = Refresher {
            shared: resolver.shared.clone(),
            retries: HashMap::new(),
        };
        let key = CommandKey {
            command: "c".into(),
            timeout: Duration::from_secs(1),
        };
        let mut pauses = Vec::new();
        for failures in 1..=10 {
            refresher.retries.insert(key.clone(), failures);
            pauses.push(refresher.retry_pause(&key).as_secs());
        }
        assert_eq!(pauses, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }
}
