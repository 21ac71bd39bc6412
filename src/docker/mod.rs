//! The Docker side of imds-spoof, on the engine API (bollard): the network, the proxy
//! image and container, who is calling (container by IP), and the checks `doctor` runs.
//! It knows Docker and the host, not the broker's protocol.

mod callers;
mod connect;
mod containers;
mod doors;
mod error;
mod files;
pub mod host;
mod image;
mod labels;
mod liveness;
mod net;
mod proxy;
mod stats;
mod subnet;
mod task_snapshot;

pub use callers::{follow, CallerBook, DockerEvent, Holder, Lookup};
pub use connect::{connect, prefer_socket, Engine};
pub use containers::{
    inspect_container, list_containers, list_managed, ContainerInfo, ManagedContainer,
};
pub use doors::{door_endpoint, proxy_endpoints, proxy_name, ProxyEndpoint, PROXY_NAMES};
pub use error::DockerError;
pub(crate) use error::{api, status_of};
pub use files::{read_container_file, ContainerFile};
pub use image::{ensure_image, image_present, PullProgress};
pub use labels::{
    is_managed, run_labels, LABEL_DOOR, LABEL_HOST, LABEL_IDENTITY, LABEL_IP_RANGES, LABEL_MANAGED,
    LABEL_PART, LABEL_PID, LABEL_RUN, OFFLINE_PROXY_IMAGE, PROXY_NAME,
};
pub use net::{
    attached_app_containers, check_network, connect_container, disconnect_container,
    ensure_network, find_network, remove_network, try_ipv6_network, NetworkPlan, NetworkState,
    IMDS_IPV6,
};
pub use proxy::{
    container_exit, container_log_tail, find_proxy, remove_proxy, start_proxy, BrokerRoute,
    ProxyLeftover, ProxySpec, RunLabels, BROKER_SOCKET_NAME,
};
pub use stats::{stats_frames, StatsFrame};
pub use task_snapshot::{container_snapshot, task_snapshots};
