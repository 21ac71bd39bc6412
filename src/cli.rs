//! The command line, parsed into plain values.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `--version`: the crate's version, the commit and the date it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("IMDS_SPOOF_COMMIT"),
    " ",
    env!("IMDS_SPOOF_BUILD_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "imds-spoof",
    version = VERSION,
    about = "A faithful local AWS EC2 Instance Metadata Service for Docker containers",
    long_about = "Serves http://169.254.169.254 to containers on the imds-spoof Docker network, \
                  answering as EC2's metadata service does (IMDSv1 and IMDSv2), with identities \
                  and role credentials from your configuration. Without a subcommand it opens \
                  the dashboard."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file (created with a commented sample when missing).
    #[arg(long, global = true, env = "IMDS_SPOOF_CONFIG")]
    pub config: Option<PathBuf>,
    /// The identity: answered to callers that choose none (overrides active_identity); with
    /// `token`, whose token it is.
    #[arg(long, global = true)]
    pub identity: Option<String>,
    /// Dashboard only: run the broker alone on loopback, without network and proxy.
    #[arg(long)]
    pub no_start: bool,
    /// Dashboard only: append every exchange as a JSON line (secrets masked) to this file.
    #[arg(long, value_name = "FILE")]
    pub log_requests: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the broker alone on a local address, for SDKs on this machine and for tests.
    Serve(ServeArgs),
    /// Answer one request with the built-in provider, speaking the external-provider protocol.
    Provider(ProviderArgs),
    /// Bring network, proxy and broker up without the dashboard; Ctrl-C stops and cleans up.
    Up(UpArgs),
    /// Remove the proxy and network left by any run.
    Down(DownArgs),
    /// Show network, proxy and broker state (and a background run's); exit 0 when all are up.
    Status(StatusArgs),
    /// Check what usually goes wrong.
    Doctor(DoctorArgs),
    /// Make a container play an identity (a [[container]] rule), or clear its rule.
    Assign(AssignArgs),
    /// IMDSv2 readiness: which callers still use IMDSv1. Exit status 1 when any did.
    Report(ReportArgs),
    /// Issue an EKS Pod Identity token (for AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).
    Token(TokenArgs),
    /// Hand an MFA code to the running imds-spoof, for roles with mfa_serial.
    Mfa(MfaArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `imds-spoof man > imds-spoof.1`.
    Man,
    /// Show the log of the run `up --detach` started (-f to follow it).
    Logs(LogsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `imds-spoof mfa CODE`: one code for one GetSessionToken, whose session is the base of
/// every role assumed with that device until it ends.
#[derive(Debug, Clone, Args)]
pub struct MfaArgs {
    /// The six digits the device shows now.
    #[arg(value_name = "CODE")]
    pub code: String,
    /// The device (mfa_serial) the code is for, when several wait for one.
    #[arg(long, value_name = "ARN")]
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback; never every interface).
    #[arg(long, default_value = "127.0.0.1:1338")]
    pub listen: SocketAddr,
    /// Accept a --listen address other than loopback: every machine that reaches it can
    /// read the credentials it serves.
    #[arg(long)]
    pub allow_remote: bool,
    /// Append every exchange as a JSON line (secrets masked) to this file.
    #[arg(long, value_name = "FILE")]
    pub log_requests: Option<PathBuf>,
    /// Log requests as JSON lines on stderr instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write this run's ECS container token here (mode 0600, no newline) for
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub container_token_file: Option<PathBuf>,
}

/// The identity comes from the global `--identity NAME` (the token names the service
/// account imds-spoof/NAME), or `--service-account` names a mapped one.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// A service account namespace/name mapped by a [[service_account]] of the
    /// configuration (instead of --identity).
    #[arg(long, value_name = "NAMESPACE/NAME", conflicts_with = "identity")]
    pub service_account: Option<String>,
    /// How long the token is valid: seconds, or a number with s, m, h or d.
    #[arg(long, default_value = "30d")]
    pub ttl: String,
    /// Write the token to this file (no trailing newline) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Make the file readable by every user (0644) instead of only you (0600): for
    /// containers that run as another user and read it from a bind mount.
    #[arg(long)]
    pub readable: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ProviderArgs {
    #[arg(long, default_value = "GET")]
    pub method: String,
    #[arg(long)]
    pub path: String,
    #[arg(long = "caller-ip")]
    pub caller_ip: Option<std::net::IpAddr>,
    #[arg(long = "caller-container")]
    pub caller_container: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Log requests as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Append every exchange as a JSON line (secrets masked) to this file.
    #[arg(long, value_name = "FILE")]
    pub log_requests: Option<PathBuf>,
    /// Proxy image (overrides [proxy] image).
    #[arg(long)]
    pub proxy_image: Option<String>,
    /// Run in the background: return once network, proxies and broker answer (printing
    /// the ready line), or with up's exit status and message. Log: `imds-spoof logs`;
    /// stop: `imds-spoof down`.
    #[arg(long, short = 'd')]
    pub detach: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// One JSON document: whether each part is up, the background run if any, the lines.
    #[arg(long)]
    pub json: bool,
}

/// `imds-spoof logs`: the log of the run `up --detach` started.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Keep printing what the run appends, until Ctrl-C.
    #[arg(long, short = 'f')]
    pub follow: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DownArgs {
    /// Remove the network even while application containers are attached (they are disconnected).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["identity", "clear"])))]
#[command(
    override_usage = "imds-spoof assign [OPTIONS] <CONTAINER> <IDENTITY>\n       imds-spoof assign [OPTIONS] <CONTAINER> --clear"
)]
pub struct AssignArgs {
    /// The container, by name (as `docker ps` shows it).
    #[arg(value_parser = container_name)]
    pub container: String,
    /// The identity it plays from its next request on.
    pub identity: Option<String>,
    /// Remove the container's rule: its label, or the active identity, applies again.
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Print the report as JSON (its shape is documented in docs/readiness.md).
    #[arg(long)]
    pub json: bool,
    /// Read a --log-requests file instead of asking the running imds-spoof (repeatable).
    #[arg(long, value_name = "FILE")]
    pub from: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Also check this container: attached, proxy settings, IMDS disabled by env, and the
    /// AWS_CONTAINER_* / ECS_CONTAINER_METADATA_URI_V4 variables (token file read from it).
    #[arg(long)]
    pub container: Option<String>,
}

/// A container name as Docker allows it: the same check as `[[container]] name`.
fn container_name(text: &str) -> Result<String, String> {
    crate::config::check_container_name(text).map(|()| text.to_string())
}
