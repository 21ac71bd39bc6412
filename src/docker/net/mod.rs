//! The `imds-spoof` bridge network: the plan from the settings, reuse of ours and
//! conflicts with others, IPv6, and the network's life.

mod check;
mod ipv6;
mod manage;
mod plan;

pub use check::{check_network, NetworkState};
pub use ipv6::{try_ipv6_network, EKS_IPV6, IMDS_IPV6};
pub(in crate::docker) use manage::inspect_network;
pub use manage::{
    attached_app_containers, connect_container, disconnect_container, ensure_network, find_network,
    remove_network,
};
pub use plan::NetworkPlan;
