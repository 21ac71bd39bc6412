//! Test data: an identity placed like the AWS documentation's examples and containers
//! shaped as Docker inspect describes them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::{ContainerSnapshot, NetworkAttachment, ResourceLimits};
use crate::config::Identity;

/// The sample's default identity, moved to us-west-2 and account 111122223333.
pub fn identity() -> Identity {
    let config = crate::config::parse(
        std::path::Path::new("sample.toml"),
        crate::config::SAMPLE_CONFIG,
    )
    .expect("the sample parses");
    let mut identity = config.identity("default").expect("default").clone();
    identity.region = "us-west-2".into();
    identity.availability_zone = "us-west-2d".into();
    identity.account_id = "111122223333".into();
    identity
}

/// A running container; `compose` is (project, service).
pub fn snapshot(name: &str, compose: Option<(&str, &str)>) -> ContainerSnapshot {
    let mut labels = BTreeMap::from([("maintainer".to_string(), "me".to_string())]);
    if let Some((project, service)) = compose {
        labels.insert(super::COMPOSE_PROJECT_LABEL.into(), project.into());
        labels.insert(super::COMPOSE_SERVICE_LABEL.into(), service.into());
    }
    // A stable 64-hex id per name, as Docker's look.
    let seed = super::facts::hex_digest("fixture", name);
    ContainerSnapshot {
        id: format!("{seed}{seed}"),
        name: name.to_string(),
        image: "imds-spoof/client-offline:latest".into(),
        image_id: "sha256:d691691e9652791a60114e67b365688d20d19940dde7c4736ea30e660d8d3553".into(),
        labels,
        created_at: "2020-10-02T00:15:07.620912337Z".into(),
        started_at: Some("2020-10-02T00:15:08.062559351Z".into()),
        finished_at: None,
        state: "running".into(),
        exit_code: None,
        limits: ResourceLimits {
            cpu_shares: 10,
            nano_cpus: 0,
            memory_bytes: 128 * 1024 * 1024,
        },
        log_driver: "json-file".into(),
        log_options: BTreeMap::new(),
        network_mode: "imds-spoof".into(),
        networks: vec![NetworkAttachment {
            network: "imds-spoof".into(),
            ipv4: Some(Ipv4Addr::new(169, 254, 0, 5)),
            prefix_len: 16,
            gateway: Some(Ipv4Addr::new(169, 254, 0, 1)),
            mac: "02:42:a9:fe:00:05".into(),
            ..Default::default()
        }],
    }
}
