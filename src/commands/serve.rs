//! `imds-spoof serve`: the broker alone on a local address.

use std::io::Write;
use std::sync::Arc;

use crate::broker::{spawn_request_lines, AccessPolicy, Broker, BrokerState, LineFormat, Recorder};
use crate::cli::{GlobalArgs, ServeArgs};
use crate::config::ConfigStore;
use crate::session::{ControlSocket, ReportSocket};

pub async fn run(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<()> {
    check_listen_address(args)?;
    let store = super::open_store(global)?;
    let built = crate::provider::build_provider(&store);
    for warning in &built.warnings {
        tracing::warn!("{warning}");
    }
    // Only the built-in provider signs identity documents with our keys.
    let certificates = built
        .builtin
        .is_some()
        .then(|| crate::provider::describe_certificates(&crate::provider::signing_dir(&store)));
    let watcher = store.spawn_watcher();

    // Bind first: with port 0 the Host check must use the port actually bound.
    let listener = Broker::bind(args.listen).await?;
    let local_addr = listener.local_addr()?;
    // ECS requests on loopback must carry this run's token (FULL_URI style).
    let container_token = crate::broker::doors::new_container_token();
    if let Some(path) = &args.container_token_file {
        crate::config::write_file_atomically(path, container_token.as_bytes(), 0o600)
            .map_err(|err| anyhow::anyhow!("--container-token-file {}: {err}", path.display()))?;
    }
    let state = BrokerState::new(
        store.clone(),
        built.provider,
        AccessPolicy::Loopback { listen: local_addr },
    )
    .with_container_token(container_token.clone());
    let state = with_request_log(state, args, &store)?;
    spawn_request_lines(
        &state.recorder,
        if args.json {
            LineFormat::Json
        } else {
            LineFormat::Text
        },
    );
    // `imds-spoof report` asks this process on it; gone when `serve` ends.
    let _report_socket = match ReportSocket::start(&state.recorder) {
        Ok(socket) => Some(socket),
        Err(err) => {
            tracing::warn!("`imds-spoof report` cannot ask this process: {err}");
            None
        }
    };
    // `imds-spoof mfa CODE` hands codes to this process's credentials.
    let _control_socket = built.builtin.as_ref().and_then(|builtin| {
        ControlSocket::start(builtin.credentials().clone())
            .map_err(|err| tracing::warn!("`imds-spoof mfa` cannot reach this process: {err}"))
            .ok()
    });
    let broker = Broker::serve(listener, Arc::new(state))?;
    print_endpoints(
        &broker,
        &store,
        args,
        certificates.as_deref(),
        &container_token,
    );
    crate::session::stop_requested().await;
    tracing::info!("stopping");
    watcher.abort();
    broker.stop().await;
    Ok(())
}

/// Only loopback unless `--allow-remote` says otherwise: other machines could read the
/// credentials served there.
fn check_listen_address(args: &ServeArgs) -> anyhow::Result<()> {
    if args.listen.ip().is_loopback() {
        return Ok(());
    }
    if !args.allow_remote {
        anyhow::bail!(
            "--listen {} is not a loopback address: other machines could read the credentials served there. Use 127.0.0.1, or add --allow-remote if that is really meant",
            args.listen
        );
    }
    tracing::warn!(
        "serving on {} (--allow-remote): every machine that reaches this address can read the credentials",
        args.listen
    );
    Ok(())
}

/// `--log-requests FILE`: the recorder also writes every exchange there (masked, 0600).
fn with_request_log(
    state: BrokerState,
    args: &ServeArgs,
    store: &ConfigStore,
) -> anyhow::Result<BrokerState> {
    let Some(path) = &args.log_requests else {
        return Ok(state);
    };
    let recorder = Recorder::new(store.current().broker.record_capacity)
        .with_log_file(path)
        .map_err(|source| crate::broker::BrokerError::RequestLog {
            path: path.clone(),
            source,
        })?;
    Ok(state.with_recorder(Arc::new(recorder)))
}

/// What a user sets in their shell to reach this server: the endpoint and the ECS door's
/// variables.
fn print_endpoints(
    broker: &Broker,
    store: &ConfigStore,
    args: &ServeArgs,
    certificates: Option<&str>,
    container_token: &str,
) {
    let config_path = store
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "imds-spoof serving on http://{} (config {config_path}, identity {})",
        broker.endpoint,
        store.current().active_identity
    );
    if let Some(certificates) = certificates {
        let _ = writeln!(stdout, "identity certificates: {certificates}");
    }
    let ecs_uri = format!("http://{}/v2/credentials/self", broker.endpoint);
    let _ = match &args.container_token_file {
        Some(path) => writeln!(
            stdout,
            "ECS: AWS_CONTAINER_CREDENTIALS_FULL_URI={ecs_uri} AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={}",
            path.display()
        ),
        None => writeln!(
            stdout,
            "ECS: AWS_CONTAINER_CREDENTIALS_FULL_URI={ecs_uri} AWS_CONTAINER_AUTHORIZATION_TOKEN={container_token}"
        ),
    };
    let _ = stdout.flush();
}
