//! The labels and names imds-spoof gives what it creates on the engine, and how it
//! recognises them again (`down`, the sweep of a crashed run).

use std::collections::HashMap;

/// Every object we create carries this label set to "true".
pub const LABEL_MANAGED: &str = "imds-spoof.managed";
/// The run that created the object.
pub const LABEL_RUN: &str = "imds-spoof.run";
/// The pid of the imds-spoof process serving through the proxy (to tell dead runs from live ones).
pub const LABEL_PID: &str = "imds-spoof.pid";
/// The host name of that process: a pid only means something on its own machine.
pub const LABEL_HOST: &str = "imds-spoof.host";
/// Which part the object is: "network" or "proxy".
/// On our network: the address ranges it was created with (`169.254.0.0/17,…`), for
/// engines whose inspect leaves them out (Podman 4's compatible API does).
pub const LABEL_IP_RANGES: &str = "imds-spoof.ip-ranges";
pub const LABEL_PART: &str = "imds-spoof.part";
/// Which door a proxy container serves: "imds", "ecs" or "eks".
pub const LABEL_DOOR: &str = "imds-spoof.door";
/// Set by applications on their containers to choose an identity.
pub const LABEL_IDENTITY: &str = "imds-spoof.identity";

/// The name of the IMDS proxy container (the doors' are in doors.rs).
pub const PROXY_NAME: &str = "imds-spoof-proxy";
/// What `scripts/offline-images.sh` builds, for the offline hint.
pub const OFFLINE_PROXY_IMAGE: &str = "imds-spoof/nginx-offline:latest";

/// The labels every object of this run carries.
pub fn run_labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_RUN.to_string(), run_id.to_string()),
    ])
}

/// Is this label set ours?
pub fn is_managed(labels: Option<&HashMap<String, String>>) -> bool {
    labels
        .and_then(|labels| labels.get(LABEL_MANAGED))
        .is_some_and(|value| value == "true")
}
