use std::process::ExitCode;

use clap::Parser;
use imds_spoof::cli::{Cli, Command};
use imds_spoof::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let raised = commands::raise_open_files_limit();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("imds-spoof: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Some(Command::Serve(args)) => {
                let _log = commands::init_logging(args.json);
                log_raised(raised);
                commands::serve::run(&cli.global, args).await
            }
            Some(Command::Provider(args)) => commands::provider::run(&cli.global, args).await,
            Some(Command::Up(args)) if args.detach => commands::detach::up(&cli.global, args)
                .await
                .map_err(Into::into),
            Some(Command::Up(args)) => {
                let _log = commands::init_logging(args.json);
                log_raised(raised);
                commands::up::run(&cli.global, args).await
            }
            Some(Command::Down(args)) => commands::down::run(&cli.global, args).await,
            Some(Command::Status(args)) => commands::status::run(&cli.global, args).await,
            Some(Command::Doctor(args)) => commands::doctor::run(&cli.global, args).await,
            Some(Command::Assign(args)) => commands::assign::run(&cli.global, args),
            Some(Command::Report(args)) => commands::report::run(args).await.map_err(Into::into),
            Some(Command::Token(args)) => commands::token::run(&cli.global, args),
            Some(Command::Mfa(args)) => commands::mfa::run(args).await,
            Some(Command::Completions(args)) => commands::docs::completions(args.shell),
            Some(Command::Man) => commands::docs::man(),
            Some(Command::Logs(args)) => commands::detach::logs(args).await.map_err(Into::into),
            None => commands::tui::run(&cli.global).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("imds-spoof: {}", explain(&err));
            ExitCode::from(commands::exit::exit_status(&err))
        }
    }
}

fn log_raised(raised: Option<(u64, u64)>) {
    if let Some((before, after)) = raised {
        tracing::debug!("open-files limit raised from {before} to {after}");
    }
}

/// The error and its causes, skipping causes whose text the message already shows
/// (our error types name their cause in their own message, with its context).
fn explain(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}
