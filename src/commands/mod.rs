//! The subcommands: each takes plain arguments and returns an exit status.

pub mod assign;
pub mod detach;
pub mod docs;
pub mod doctor;
pub mod down;
pub mod exit;
pub mod mfa;
pub mod provider;
pub mod report;
pub mod serve;
pub mod status;
pub mod token;
pub mod tui;
pub mod up;

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::config::{self, ConfigStore};

/// The configuration file the global arguments name.
pub fn config_path(global: &GlobalArgs) -> PathBuf {
    global.config.clone().unwrap_or_else(config::default_path)
}

/// Loads the configuration store, creating the sample on first run.
pub fn open_store(global: &GlobalArgs) -> anyhow::Result<ConfigStore> {
    let path = config_path(global);
    let store = ConfigStore::from_file(&path, global.identity.clone())?;
    crate::docker::prefer_socket(store.current().engine.socket.as_deref());
    Ok(store)
}

/// Raises the open-files soft limit to the hard one. Desktops often start processes at
/// 1,024, which a few hundred idle keep-alive connections and a load test exhaust; the
/// hard limit is ours to take. Returns (before, after) when it changed anything.
pub fn raise_open_files_limit() -> Option<(u64, u64)> {
    let (soft, hard) = rlimit::Resource::NOFILE.get().ok()?;
    if soft >= hard {
        return None;
    }
    rlimit::Resource::NOFILE.set(hard, hard).ok()?;
    Some((soft, hard))
}

/// The log filter: `IMDS_SPOOF_LOG` (or RUST_LOG) as given, else `info` for our own lines
/// and warnings only from the AWS SDK, whose info lines narrate every credential lookup
/// (and name access key ids).
pub fn log_filter() -> String {
    std::env::var("IMDS_SPOOF_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| {
            "info,aws_config=warn,aws_runtime=warn,aws_sdk_sts=warn,aws_sdk_sso=warn,\
             aws_sdk_ssooidc=warn,aws_smithy_runtime=warn,aws_smithy_http_client=warn"
                .to_string()
        })
}

/// Logs to stderr; [`log_filter`] says what.
///
/// Lines go through a writer thread so a request never waits on a `write(2)` to the
/// terminal or a pipe; nothing is dropped (lossy off). Keep the returned guard alive until
/// the process ends: dropping it flushes what is still queued.
pub fn init_logging(json: bool) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;

    let filter = log_filter();
    let colour = std::io::stderr().is_terminal();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(colour)
        .with_writer(writer);
    if json {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
    guard
}
