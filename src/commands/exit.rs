//! Exit statuses of the subcommands, one per situation the user can act on (documented in
//! docs/docker.md), and the mapping from the errors the lower layers return.

use super::detach::DetachError;
use super::report::ReportError;
use crate::broker::BrokerError;
use crate::docker::DockerError;
use crate::session::SessionError;

pub const FAILURE: u8 = 1;
/// `report`: a caller used IMDSv1 (what CI gates on; the command itself worked).
pub const V1_CALLERS: u8 = 1;
pub const ENGINE_UNREACHABLE: u8 = 3;
pub const PERMISSION_DENIED: u8 = 4;
pub const NETWORK_CONFLICT: u8 = 5;
pub const PORT_IN_USE: u8 = 6;
pub const IMAGE_UNAVAILABLE: u8 = 7;
pub const OTHER_RUN: u8 = 8;
pub const PROXY_FAILED: u8 = 9;
pub const CONTAINERS_ATTACHED: u8 = 10;
/// `report` had nothing to read: no running imds-spoof, an unreadable or foreign file.
pub const REPORT_UNAVAILABLE: u8 = 11;

/// The exit status for an error a subcommand returned (1 unless we know better).
pub fn exit_status(err: &anyhow::Error) -> u8 {
    if let Some(err) = err.downcast_ref::<SessionError>() {
        return session_status(err);
    }
    if let Some(err) = err.downcast_ref::<DockerError>() {
        return docker_status(err);
    }
    if let Some(err) = err.downcast_ref::<BrokerError>() {
        return broker_status(err);
    }
    if let Some(err) = err.downcast_ref::<ReportError>() {
        return report_status(err);
    }
    if let Some(err) = err.downcast_ref::<DetachError>() {
        return match err {
            DetachError::AlreadyRunning { .. } => OTHER_RUN,
            DetachError::Failed { status, .. } => status.unwrap_or(FAILURE),
            DetachError::Io { .. } => FAILURE,
        };
    }
    FAILURE
}

/// Never 1 for a failure: 1 is the finding "IMDSv1 in use".
fn report_status(err: &ReportError) -> u8 {
    match err {
        ReportError::V1Callers { .. } => V1_CALLERS,
        ReportError::NothingRunning
        | ReportError::Running(_)
        | ReportError::LogFile(_)
        | ReportError::Output(_) => REPORT_UNAVAILABLE,
    }
}

fn session_status(err: &SessionError) -> u8 {
    match err {
        SessionError::Docker(err) => docker_status(err),
        SessionError::Broker(err) => broker_status(err),
        SessionError::Other(_) => FAILURE,
    }
}

fn broker_status(err: &BrokerError) -> u8 {
    match err {
        BrokerError::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            PORT_IN_USE
        }
        _ => FAILURE,
    }
}

fn docker_status(err: &DockerError) -> u8 {
    match err {
        DockerError::NotRunning { .. }
        | DockerError::UnsupportedHost { .. }
        | DockerError::Timeout { .. } => ENGINE_UNREACHABLE,
        DockerError::PermissionDenied { .. } => PERMISSION_DENIED,
        DockerError::SubnetTaken { .. }
        | DockerError::NetworkNameTaken { .. }
        | DockerError::BadNetworkSettings(_)
        | DockerError::Ipv6Unsupported { .. }
        | DockerError::AddressTaken { .. } => NETWORK_CONFLICT,
        DockerError::ImageUnavailable { .. } => IMAGE_UNAVAILABLE,
        DockerError::ProxyNameTaken { .. } | DockerError::OtherRun { .. } => OTHER_RUN,
        DockerError::ProxyUnhealthy { .. } | DockerError::ProxyGone(_) => PROXY_FAILED,
        DockerError::ContainersAttached { .. } => CONTAINERS_ATTACHED,
        DockerError::NoSuchContainer(_)
        | DockerError::Archive(_)
        | DockerError::ReadFile { .. }
        | DockerError::Api { .. } => FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_cause_through_the_layers() {
        let taken = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        let bind = BrokerError::Bind {
            addr: "127.0.0.1:1338".parse().unwrap(),
            source: taken,
            hint: String::new(),
        };
        assert_eq!(exit_status(&anyhow::Error::new(bind)), PORT_IN_USE);
        let attached = DockerError::ContainersAttached {
            network: "imds-spoof".into(),
            names: vec!["app".into()],
        };
        let session = SessionError::Docker(attached);
        assert_eq!(
            exit_status(&anyhow::Error::new(session)),
            CONTAINERS_ATTACHED
        );
        assert_eq!(exit_status(&anyhow::anyhow!("anything else")), FAILURE);
        let v1 = anyhow::Error::new(ReportError::V1Callers { count: 2 });
        assert_eq!(exit_status(&v1), V1_CALLERS);
        let nothing = anyhow::Error::new(ReportError::NothingRunning);
        assert_eq!(exit_status(&nothing), REPORT_UNAVAILABLE);
    }

    #[test]
    fn an_engine_without_ipv6_is_a_network_problem_with_a_way_out() {
        let err = DockerError::Ipv6Unsupported {
            network: "imds-spoof".into(),
            reason: "failed to create the bridge: open /proc/sys/net/ipv6/conf/br-1/disable_ipv6: no such file or directory".into(),
        };
        let text = err.to_string();
        assert!(
            text.contains("cannot make network imds-spoof with IPv6"),
            "{text}"
        );
        assert!(
            text.contains("/proc/sys/net/ipv6"),
            "the engine's reason: {text}"
        );
        assert!(text.contains("[network] ipv6 = false"), "{text}");
        let session = SessionError::Docker(err);
        assert_eq!(exit_status(&anyhow::Error::new(session)), NETWORK_CONFLICT);
    }
}
