//! `[[service_account]]`: which identity an EKS Pod Identity token's service account plays.

use serde::{Deserialize, Serialize};

/// The namespace of the service accounts `imds-spoof token --identity NAME` issues tokens
/// for: the account's name is the identity's, no `[[service_account]]` needed.
pub const IDENTITY_NAMESPACE: &str = "imds-spoof";

/// `[[service_account]]`: an EKS Pod Identity association, the service account
/// `namespace/name` (a token's subject) plays `identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountRule {
    /// `namespace/name`, as `kubectl` names a service account.
    pub name: String,
    pub identity: String,
}

impl ServiceAccountRule {
    /// Does this association name the service account `namespace/name`?
    pub fn names(&self, namespace: &str, name: &str) -> bool {
        self.name
            .split_once('/')
            .is_some_and(|(ns, sa)| ns == namespace && sa == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sample::SAMPLE_CONFIG;
    use crate::config::Config;

    fn config_with(rules: &[(&str, &str)]) -> Config {
        let mut config: Config = toml::from_str(SAMPLE_CONFIG).expect("the sample parses");
        config.service_accounts = rules
            .iter()
            .map(|(name, identity)| ServiceAccountRule {
                name: name.to_string(),
                identity: identity.to_string(),
            })
            .collect();
        config
    }

    #[test]
    fn an_association_names_namespace_and_account() {
        let config = config_with(&[("shop/api", "worker"), ("shop/web", "default")]);
        assert_eq!(
            config.identity_for_service_account("shop", "api"),
            Some("worker")
        );
        assert_eq!(
            config.identity_for_service_account("shop", "web"),
            Some("default")
        );
        // Neither half alone, nor the halves swapped, nor a longer name.
        assert_eq!(config.identity_for_service_account("api", "shop"), None);
        assert_eq!(config.identity_for_service_account("shop", "ap"), None);
        assert_eq!(config.identity_for_service_account("shop/api", ""), None);
        assert_eq!(config.identity_for_service_account("other", "api"), None);
    }

    #[test]
    fn our_namespace_names_identities_without_an_association() {
        let config = config_with(&[]);
        assert_eq!(
            config.identity_for_service_account(IDENTITY_NAMESPACE, "worker"),
            Some("worker")
        );
        assert_eq!(
            config.identity_for_service_account(IDENTITY_NAMESPACE, "nobody"),
            None
        );
        // An association in our namespace does not widen it to other names.
        let config = config_with(&[("imds-spoof/custom", "worker")]);
        assert_eq!(
            config.identity_for_service_account(IDENTITY_NAMESPACE, "custom"),
            None
        );
    }
}
