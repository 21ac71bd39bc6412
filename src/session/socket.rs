//! The directory holding the broker's unix socket for a run on a local Linux engine.
//!
//! Layout: `<base>/run-<run id>/broker.sock`, where `<base>` is `$XDG_RUNTIME_DIR/imds-spoof`
//! or `<temp dir>/imds-spoof-<uid>`, private to this user (0700). Only the run directory is
//! bind-mounted into the proxy (at [`crate::docker::PROXY_SOCKET_DIR`]), so it is 0755 and the socket 0666:
//! the nginx worker runs as its image's unprivileged user. Other local users cannot pass
//! the private base; the per-run secret guards the socket anyway.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::docker::BROKER_SOCKET_NAME as SOCKET_NAME;

const RUN_PREFIX: &str = "run-";

/// A run's socket directory; removed on drop.
#[derive(Debug)]
pub struct SocketDir {
    dir: PathBuf,
}

impl SocketDir {
    /// Creates `<base>/run-<run_id>` (clearing leftovers of dead runs first).
    pub fn create(run_id: &str) -> std::io::Result<SocketDir> {
        let base = private_base()?;
        clear_stale_in(&base);
        let dir = base.join(format!("{RUN_PREFIX}{run_id}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::DirBuilder::new().mode(0o755).create(&dir)?;
        // The umask may have taken bits away; the proxy's worker must traverse it.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        Ok(SocketDir { dir })
    }

    /// The directory to bind-mount into the proxy.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The socket the broker listens on.
    pub fn socket(&self) -> PathBuf {
        self.dir.join(SOCKET_NAME)
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.dir) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("removing {}: {err}", self.dir.display());
            }
        }
    }
}

/// The per-user base directory, which must be ours and private.
pub(super) fn base_path() -> std::io::Result<PathBuf> {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(runtime) if runtime.is_absolute() && runtime.is_dir() => {
            Ok(runtime.join("imds-spoof"))
        }
        _ => Ok(std::env::temp_dir().join(format!("imds-spoof-{}", own_uid()?))),
    }
}

pub(super) fn own_uid() -> std::io::Result<u32> {
    // /proc/self belongs to the process's real uid; no unsafe getuid() needed.
    Ok(std::fs::metadata("/proc/self")?.uid())
}

/// Creates the base (0700) or checks an existing one: a real directory (not a symlink)
/// owned by us and closed to others; in a shared temp dir anyone could have made it first.
pub(super) fn private_base() -> std::io::Result<PathBuf> {
    let base = base_path()?;
    match std::fs::DirBuilder::new().mode(0o700).create(&base) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    let meta = std::fs::symlink_metadata(&base)?;
    if !meta.file_type().is_dir() || meta.uid() != own_uid()? {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a directory of this user: remove it",
                base.display()
            ),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(base)
}

/// Removes the run directories in `base` whose broker is gone (a crashed or killed run):
/// nothing accepts on their socket. Best effort; returns what it removed.
pub fn clear_stale_in(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(RUN_PREFIX));
        if !ours || std::os::unix::net::UnixStream::connect(path.join(SOCKET_NAME)).is_ok() {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => removed.push(path),
            Err(err) => tracing::warn!("removing {}: {err}", path.display()),
        }
    }
    removed
}

/// The sockets `<prefix><pid><suffix>` in `base` (a process's report or control socket),
/// sorted.
pub(super) fn sockets_named(base: &Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(prefix) && name.ends_with(suffix))
        })
        .map(|entry| entry.path())
        .collect();
    found.sort();
    found
}

/// True when the pid in `<prefix><pid><suffix>` is a running process.
pub(super) fn owner_alive(path: &Path, prefix: &str, suffix: &str) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_prefix(prefix)?.strip_suffix(suffix))
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| Path::new("/proc").join(pid.to_string()).exists())
}

/// The next connection on `listener` from this user (others are closed unanswered).
pub(super) async fn accept_own(
    listener: &tokio::net::UnixListener,
    what: &str,
) -> tokio::net::UnixStream {
    let own = own_uid().ok();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors, most likely: wait rather than spin.
                tracing::debug!("{what}: accept failed: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let peer = stream.peer_cred().map(|cred| cred.uid()).ok();
        if own.is_some() && peer == own {
            return stream;
        }
    }
}

/// Binds `<base>/<prefix><pid><suffix>` (replacing a leftover of this pid), mode 0600.
pub(super) fn bind_own(
    base: &Path,
    prefix: &str,
    suffix: &str,
) -> std::io::Result<(PathBuf, tokio::net::UnixListener)> {
    let path = base.join(format!("{prefix}{}{suffix}", std::process::id()));
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok((path, listener))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_runs_go_live_ones_stay() {
        let base = tempfile::tempdir().unwrap();
        let dead = base.path().join("run-dead");
        std::fs::create_dir(&dead).unwrap();
        // A socket file nobody accepts on, as a killed run leaves it.
        drop(std::os::unix::net::UnixListener::bind(dead.join(SOCKET_NAME)).unwrap());
        let live = base.path().join("run-live");
        std::fs::create_dir(&live).unwrap();
        let _listener = std::os::unix::net::UnixListener::bind(live.join(SOCKET_NAME)).unwrap();
        let other = base.path().join("something-else");
        std::fs::create_dir(&other).unwrap();

        assert_eq!(clear_stale_in(base.path()), vec![dead.clone()]);
        assert!(!dead.exists());
        assert!(live.exists());
        assert!(other.exists());
    }
}
