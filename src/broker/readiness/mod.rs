//! IMDSv2 readiness: per caller, how many requests came without a token (IMDSv1), to
//! which paths, from which SDKs, first and last seen. Pure: a [`Tally`] is fed exchanges
//! (the broker's records, or the lines of a `--log-requests` file) and gives a [`Report`],
//! the same for the dashboard, `imds-spoof report` and the report socket.
//!
//! A request counts as IMDSv1 when it carries no `X-aws-ec2-metadata-token` and is no token
//! request, whatever it was answered (with `tokens = "required"` it is refused, and that is
//! the code to find). Requests refused before a caller was known (foreign Host, no proxy
//! secret) name no caller and are not counted.

pub mod agent;
mod log_file;
mod report;
mod seen;
mod tally;

pub use agent::Agent;
pub use log_file::{read_log_file, LogFileError};
pub use report::{AgentUse, CallerReport, Counts, PathCount, Report, FORMAT, OTHER_CALLERS};
pub use seen::{Seen, Use};
pub use tally::Tally;
