//! The configuration in force, shared with the broker, and the watcher that reloads it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{load, Config, ConfigError};

/// How often the watcher looks at the file. Polling keeps us free of platform
/// notification quirks (editors that replace the file, network filesystems).
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The configuration in force and the last reload error, if the file is currently invalid.
#[derive(Clone)]
pub struct ConfigStore {
    path: Option<PathBuf>,
    identity_override: Option<String>,
    current: watch::Sender<Arc<Config>>,
    last_error: watch::Sender<Option<String>>,
    /// Held by an edit of our own from the write until its result is in force, and by the
    /// watcher while it looks: the watcher never takes our own write for someone else's.
    writing: Arc<std::sync::Mutex<()>>,
}

impl ConfigStore {
    /// A store backed by a file; `identity_override` (from `--identity`) wins over
    /// `active_identity` in every version of the file.
    pub fn from_file(path: &Path, identity_override: Option<String>) -> Result<Self, ConfigError> {
        let config = load::load_or_create(path)?;
        let config = apply_override(config, identity_override.as_deref(), path)?;
        Ok(Self {
            path: Some(path.to_path_buf()),
            identity_override,
            current: watch::channel(Arc::new(config)).0,
            last_error: watch::channel(None).0,
            writing: Arc::default(),
        })
    }

    /// A store with no file behind it (tests, embedding).
    pub fn in_memory(config: Config) -> Self {
        Self {
            path: None,
            identity_override: None,
            current: watch::channel(Arc::new(config)).0,
            last_error: watch::channel(None).0,
            writing: Arc::default(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The configuration in force now.
    pub fn current(&self) -> Arc<Config> {
        self.current.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.current.subscribe()
    }

    /// The reason the file on disk is not in force, while it is invalid.
    pub fn errors(&self) -> watch::Receiver<Option<String>> {
        self.last_error.subscribe()
    }

    /// Puts a configuration in force directly (after an in-process edit, or in tests).
    pub fn replace(&self, config: Config) {
        self.current.send_replace(Arc::new(config));
        self.last_error.send_replace(None);
    }

    /// Re-reads the file; a valid file replaces the configuration, an invalid one is
    /// reported and the last good configuration stays.
    pub fn reload(&self) -> Result<(), ConfigError> {
        self.reload_announcing(true)
    }

    /// An edit of our own (the dashboard's): `write` changes the file, then the result is
    /// put in force. The change is what the user just did and was told, so the log does
    /// not repeat it, and the watcher does not see it as someone else's edit.
    pub fn own_edit<T, E: From<ConfigError>>(
        &self,
        write: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let _writing = self
            .writing
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let written = write()?;
        self.reload_announcing(false)?;
        Ok(written)
    }

    fn reload_announcing(&self, announce: bool) -> Result<(), ConfigError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let loaded = load::load(path)
            .and_then(|config| apply_override(config, self.identity_override.as_deref(), path));
        match loaded {
            Ok(config) => {
                if *self.current.borrow().as_ref() != config {
                    if announce {
                        tracing::info!(path = %path.display(), "configuration reloaded");
                    } else {
                        tracing::debug!(path = %path.display(), "configuration saved");
                    }
                    self.current.send_replace(Arc::new(config));
                }
                self.last_error.send_replace(None);
                Ok(())
            }
            Err(err) => {
                tracing::warn!("configuration not applied, keeping the last good one: {err}");
                self.last_error.send_replace(Some(err.to_string()));
                Err(err)
            }
        }
    }

    /// Watches the file until the returned task is aborted or the store's last user drops.
    pub fn spawn_watcher(&self) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let Some(path) = store.path.clone() else {
                return;
            };
            let mut last_seen = std::fs::read(&path).ok();
            let mut ticker = tokio::time::interval(POLL_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                ticker.tick().await;
                // A small file, read under the lock our own edits hold (no await inside).
                let _writing = store
                    .writing
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                let now = std::fs::read(&path).ok();
                if now.is_some() && now != last_seen {
                    last_seen = now;
                    let _ = store.reload();
                }
            }
        })
    }
}

fn apply_override(
    mut config: Config,
    identity: Option<&str>,
    path: &Path,
) -> Result<Config, ConfigError> {
    if let Some(name) = identity {
        if config.identity(name).is_none() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("--identity {name:?} names no [[identity]]"),
            });
        }
        config.active_identity = name.to_string();
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn invalid_edit_keeps_last_good_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let store = ConfigStore::from_file(&path, None).unwrap();
        let before = store.current();

        std::fs::write(&path, "active_identity = [").unwrap();
        assert!(store.reload().is_err());
        assert_eq!(store.current(), before);
        assert!(store
            .errors()
            .borrow()
            .as_ref()
            .unwrap()
            .contains("config.toml:1:"));

        let text = super::super::SAMPLE_CONFIG.replace(
            "active_identity = \"default\"",
            "active_identity = \"worker\"",
        );
        std::fs::write(&path, text).unwrap();
        store.reload().unwrap();
        assert_eq!(store.current().active_identity, "worker");
        assert!(store.errors().borrow().is_none());
    }
}
