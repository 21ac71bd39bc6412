//! What a crashed or killed run left in the run directories' base: its run directory (the
//! broker socket nothing accepts on any more) and its report socket. `imds-spoof down`
//! clears both; each kind is its own module's to recognise.

use std::path::PathBuf;

/// Removes the stale run directories and report sockets. Best effort; returns what it
/// removed.
pub fn clear_stale_socket_dirs() -> Vec<PathBuf> {
    match super::socket::base_path() {
        Ok(base) if base.is_dir() => {
            let mut removed = super::socket::clear_stale_in(&base);
            removed.extend(super::report_socket::clear_stale(&base));
            removed
        }
        _ => Vec::new(),
    }
}
