//! `[containers]` and `[[container]]`: which identity a calling container plays (rule by
//! name, rule by compose service, label, active identity) and why.

use serde::{Deserialize, Serialize};

/// How callers on the network are treated as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContainerSettings {
    /// What a caller on our network gets when the engine cannot say which container it is.
    pub unresolved: UnresolvedPolicy,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnresolvedPolicy {
    /// EC2's 500, which SDKs retry: never someone else's credentials.
    #[default]
    Refuse,
    /// The active identity, as if the caller had no label (for engines that hide names).
    Active,
}

/// `[[container]]`: a container, by name or compose service, plays `identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerRule {
    /// The container's name (as `docker ps` shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `com.docker.compose.service` label: every replica of a compose service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_service: Option<String>,
    pub identity: String,
}

impl ContainerRule {
    /// Does this rule name this container?
    pub fn matches(&self, container: &ContainerFacts) -> bool {
        match (&self.name, &self.compose_service) {
            (Some(name), _) => container.name.as_deref() == Some(name.as_str()),
            (None, Some(service)) => container.compose_service.as_deref() == Some(service.as_str()),
            (None, None) => false,
        }
    }
}

/// What is known of a calling container, for choosing its identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerFacts {
    pub name: Option<String>,
    pub compose_service: Option<String>,
    /// The `imds-spoof.identity` label.
    pub identity_label: Option<String>,
}

/// Why a caller got the identity it got: shown next to it wherever it is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityOrigin {
    /// A `[[container]]` rule of the configuration.
    Rule,
    /// The container's `imds-spoof.identity` label.
    Label,
    /// Nothing chose one: the configuration's `active_identity`.
    #[default]
    Active,
    /// The request's path named it (ECS `/v2/credentials/NAME`).
    Path,
    /// The request's token named it (an EKS Pod Identity service account).
    Token,
}

impl IdentityOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityOrigin::Rule => "rule",
            IdentityOrigin::Label => "label",
            IdentityOrigin::Active => "active",
            IdentityOrigin::Path => "path",
            IdentityOrigin::Token => "token",
        }
    }
}

/// The rule for this container: one naming it wins over one for its whole compose
/// service, whatever their order in the file.
pub(super) fn rule_for<'a>(
    rules: &'a [ContainerRule],
    container: &ContainerFacts,
) -> Option<&'a ContainerRule> {
    let by_name = rules
        .iter()
        .find(|rule| rule.name.is_some() && rule.matches(container));
    by_name.or_else(|| {
        rules
            .iter()
            .find(|rule| rule.name.is_none() && rule.matches(container))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sample::SAMPLE_CONFIG;
    use crate::config::Config;

    /// The sample (identities `default`, active, and `worker`) with these rules.
    fn config_with(rules: &[(Option<&str>, Option<&str>, &str)]) -> Config {
        let mut config: Config = toml::from_str(SAMPLE_CONFIG).expect("the sample parses");
        config.container_rules = rules
            .iter()
            .map(|(name, service, identity)| ContainerRule {
                name: name.map(str::to_string),
                compose_service: service.map(str::to_string),
                identity: identity.to_string(),
            })
            .collect();
        config
    }

    fn facts(name: &str, service: Option<&str>, label: Option<&str>) -> ContainerFacts {
        ContainerFacts {
            name: Some(name.to_string()),
            compose_service: service.map(str::to_string),
            identity_label: label.map(str::to_string),
        }
    }

    #[test]
    fn rule_beats_label_beats_active() {
        let config = config_with(&[(Some("app"), None, "worker")]);
        assert_eq!(
            config.identity_for(&facts("app", None, Some("default"))),
            ("worker", IdentityOrigin::Rule)
        );
        assert_eq!(
            config.identity_for(&facts("other", None, Some("worker"))),
            ("worker", IdentityOrigin::Label)
        );
        assert_eq!(
            config.identity_for(&facts("other", None, None)),
            ("default", IdentityOrigin::Active)
        );
    }

    #[test]
    fn a_rule_by_name_beats_one_by_compose_service_whatever_their_order() {
        let config = config_with(&[
            (None, Some("web"), "default"),
            (Some("web-1"), None, "worker"),
        ]);
        assert_eq!(
            config.identity_for(&facts("web-1", Some("web"), None)),
            ("worker", IdentityOrigin::Rule)
        );
        // Another replica of the service gets the service's rule.
        assert_eq!(
            config.identity_for(&facts("web-2", Some("web"), Some("worker"))),
            ("default", IdentityOrigin::Rule)
        );
    }

    #[test]
    fn names_of_no_identity_are_passed_over() {
        // A rule naming a removed identity falls to the label, a bad label to the active one.
        let config = config_with(&[(Some("app"), None, "gone")]);
        assert_eq!(
            config.identity_for(&facts("app", None, Some("worker"))),
            ("worker", IdentityOrigin::Label)
        );
        assert_eq!(
            config.identity_for(&facts("app", None, Some("nobody"))),
            ("default", IdentityOrigin::Active)
        );
        // What was passed over is named, so the dashboard can say it.
        assert_eq!(
            config.passed_over(&facts("app", None, Some("worker"))),
            Some((IdentityOrigin::Rule, "gone".to_string()))
        );
        assert_eq!(
            config.passed_over(&facts("other", None, Some("nobody"))),
            Some((IdentityOrigin::Label, "nobody".to_string()))
        );
        assert_eq!(
            config.passed_over(&facts("other", None, Some("worker"))),
            None
        );
        assert_eq!(config.passed_over(&facts("other", None, None)), None);
    }

    #[test]
    fn a_rule_without_name_or_service_matches_nothing() {
        let rule = ContainerRule {
            name: None,
            compose_service: None,
            identity: "worker".into(),
        };
        assert!(!rule.matches(&facts("app", Some("web"), None)));
        assert!(!rule.matches(&ContainerFacts::default()));
        let config = config_with(&[(Some("app"), None, "worker")]);
        assert_eq!(
            config
                .rule_for_name("app")
                .map(|rule| rule.identity.as_str()),
            Some("worker")
        );
        assert!(config.rule_for_name("App").is_none());
    }
}
