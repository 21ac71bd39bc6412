//! The whole file: every table's place in it, and which identity answers: by name, for a
//! container (`containers.rs`'s rules, its label) and for a service account.

use serde::{Deserialize, Serialize};

use super::containers::{
    rule_for, ContainerFacts, ContainerRule, ContainerSettings, IdentityOrigin,
};
use super::faults::Fault;
use super::identity::Identity;
use super::service_accounts::{ServiceAccountRule, IDENTITY_NAMESPACE};
use super::settings::{
    AwsSettings, BrokerSettings, DoorSettings, EngineSettings, ImdsSettings, NetworkSettings,
    ProviderSettings, ProxySettings,
};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of the identity answered to callers that do not pick one by label.
    #[serde(default = "default_identity_name")]
    pub active_identity: String,
    #[serde(default)]
    pub imds: ImdsSettings,
    #[serde(default)]
    pub network: NetworkSettings,
    #[serde(default)]
    pub doors: DoorSettings,
    #[serde(default)]
    pub proxy: ProxySettings,
    #[serde(default)]
    pub broker: BrokerSettings,
    #[serde(default)]
    pub provider: ProviderSettings,
    #[serde(default)]
    pub aws: AwsSettings,
    #[serde(default)]
    pub engine: EngineSettings,
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
    #[serde(default, rename = "identity")]
    pub identities: Vec<Identity>,
    #[serde(default)]
    pub containers: ContainerSettings,
    /// Which identity a container plays, by name or compose service (docs/architecture.md, "Containers are instances").
    #[serde(default, rename = "container")]
    pub container_rules: Vec<ContainerRule>,
    /// Which identity an EKS Pod Identity token's service account gets (docs/architecture.md, "Three doors").
    #[serde(default, rename = "service_account")]
    pub service_accounts: Vec<ServiceAccountRule>,
}

fn default_identity_name() -> String {
    "default".to_string()
}

impl Config {
    /// The identity with this name, if any.
    pub fn identity(&self, name: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|identity| identity.name == name)
    }

    /// The identity answered when a caller does not choose one.
    pub fn active(&self) -> Option<&Identity> {
        self.identity(&self.active_identity)
    }

    /// The identity a container plays: rule (by name, then by compose service) > label >
    /// active identity. A rule or label naming no identity is passed over (the container
    /// still gets an answer, `doctor` says why).
    pub fn identity_for(&self, container: &ContainerFacts) -> (&str, IdentityOrigin) {
        if let Some(rule) = rule_for(&self.container_rules, container) {
            if self.identity(&rule.identity).is_some() {
                return (&rule.identity, IdentityOrigin::Rule);
            }
        }
        if let Some(identity) = container
            .identity_label
            .as_deref()
            .and_then(|label| self.identity(label))
        {
            return (&identity.name, IdentityOrigin::Label);
        }
        (&self.active_identity, IdentityOrigin::Active)
    }

    /// A rule or label of this container that names no identity and was passed over by
    /// [`Config::identity_for`]: where it came from and the name it gives. None when the
    /// container plays what its rule or label says (or has neither).
    pub fn passed_over(&self, container: &ContainerFacts) -> Option<(IdentityOrigin, String)> {
        let (_, origin) = self.identity_for(container);
        if origin == IdentityOrigin::Rule {
            return None;
        }
        if let Some(rule) = rule_for(&self.container_rules, container) {
            if self.identity(&rule.identity).is_none() {
                return Some((IdentityOrigin::Rule, rule.identity.clone()));
            }
        }
        if origin == IdentityOrigin::Label {
            return None;
        }
        container
            .identity_label
            .as_ref()
            .filter(|label| self.identity(label).is_none())
            .map(|label| (IdentityOrigin::Label, label.clone()))
    }

    /// The rule naming this container by name, if any.
    pub fn rule_for_name(&self, name: &str) -> Option<&ContainerRule> {
        self.container_rules
            .iter()
            .find(|rule| rule.name.as_deref() == Some(name))
    }

    /// The identity of the service account `namespace/name`: its `[[service_account]]`,
    /// or in [`IDENTITY_NAMESPACE`] the identity of that name.
    pub fn identity_for_service_account(&self, namespace: &str, name: &str) -> Option<&str> {
        if namespace == IDENTITY_NAMESPACE {
            return self.identity(name).map(|identity| identity.name.as_str());
        }
        self.service_accounts
            .iter()
            .find(|rule| rule.names(namespace, name))
            .map(|rule| rule.identity.as_str())
    }
}
