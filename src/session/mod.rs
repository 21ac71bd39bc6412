//! One imds-spoof "run": network + broker + proxy, shared by `imds-spoof up` and the
//! dashboard. Progress and state changes go out as [`SessionEvent`]s; the API is the
//! contract in docs/session-contract.md.

mod broker;
mod callers;
mod control_socket;
mod events;
mod monitor;
mod parts;
mod prefetch;
mod probe;
mod proxies;
mod report_socket;
mod run;
mod running_proxies;
mod signals;
mod socket;
mod stale;
mod stats_cache;
mod steps;
mod task_metadata;

pub use crate::docker::ContainerInfo;
pub use control_socket::{
    send_to_running as send_control, ControlAnswer, ControlRequest, ControlSocket,
};
pub use events::{Part, PartState, SessionError, SessionEvent, SessionOptions};
pub use probe::{probe_door, probe_imds, probe_imds_from, Probe, ProbeError};
pub use report_socket::{read_running as read_running_reports, ReadError, ReportSocket};
pub use run::Session;
pub use signals::stop_requested;
pub use stale::clear_stale_socket_dirs;
pub use task_metadata::TaskMetadataReader;

pub(crate) use parts::{stopping, Parts};
pub(crate) use run::{BrokerMode, RunIdentity};
