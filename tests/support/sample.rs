//! The shipped sample configuration: what the binary writes on first run, read once through
//! the library's own loader. Every expected value (instance ids, regions, roles, keys) comes
//! from here, so a change to the sample changes what the tests expect instead of breaking
//! copies of it typed out across the suite.

use std::path::Path;
use std::sync::LazyLock;

use imds_spoof::config::{self, Config, CredentialSource, Identity};
use toml_edit::DocumentMut;

use super::broker::{CREDENTIALS_PATH, ROLE};

static SAMPLE: LazyLock<Config> = LazyLock::new(|| {
    let config = config::parse(Path::new("sample.toml"), config::SAMPLE_CONFIG)
        .expect("the sample configuration parses");
    // The conformance harness names the default role in constants (paths are `&'static str`
    // throughout its callers); they must agree with the sample.
    let role = role_of(&config.identities[0]);
    assert_eq!(ROLE, role, "support::ROLE is not the sample's default role");
    assert_eq!(
        CREDENTIALS_PATH,
        format!("/latest/meta-data/iam/security-credentials/{role}"),
        "support::CREDENTIALS_PATH is not the sample's default role"
    );
    config
});

/// The sample configuration, as a user gets it on first run.
pub fn sample_config() -> Config {
    SAMPLE.clone()
}

/// The sample's identity at `index`: 0 is "default" (the active one), 1 is "worker".
pub fn identity(index: usize) -> &'static Identity {
    SAMPLE
        .identities
        .get(index)
        .unwrap_or_else(|| panic!("the sample has no identity {index}"))
}

fn role_of(identity: &Identity) -> &str {
    let role = identity.role.as_ref();
    &role
        .unwrap_or_else(|| panic!("sample identity {} has a role", identity.name))
        .name
}

/// The configured credentials and placement of one identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub instance_id: String,
    pub access_key: String,
    pub secret: String,
    pub token: String,
    pub region: String,
    pub role: String,
}

impl Expected {
    /// The `--expect-…` arguments of the client scripts in tests/clients for these keys.
    pub fn client_args(&self) -> Vec<String> {
        vec![
            "--expect-access-key".into(),
            self.access_key.clone(),
            "--expect-secret".into(),
            self.secret.clone(),
            "--expect-token".into(),
            self.token.clone(),
        ]
    }

    /// What the sample promises for identity `index` (its role has static keys).
    pub fn sample_identity(index: usize) -> Expected {
        let identity = identity(index);
        let role = identity.role.as_ref().expect("sample identity has a role");
        let CredentialSource::Static {
            access_key_id,
            secret_access_key,
            session_token,
            ..
        } = &role.source
        else {
            panic!("sample identity {index} has static keys")
        };
        Expected {
            instance_id: identity.instance_id.clone(),
            access_key: access_key_id.clone(),
            secret: secret_access_key.clone(),
            token: session_token.clone().unwrap_or_default(),
            region: identity.region.clone(),
            role: role.name.clone(),
        }
    }

    /// The IMDS path of this identity's role credentials.
    pub fn credentials_path(&self) -> String {
        format!("/latest/meta-data/iam/security-credentials/{}", self.role)
    }
}

/// The shipped sample configuration, parsed for editing with its comments. Tests derive
/// every file variant from it, so a change to its layout fails loudly rather than drifts.
pub fn sample() -> DocumentMut {
    config::SAMPLE_CONFIG
        .parse()
        .expect("the sample configuration parses")
}

/// The role table of the identity at `index` in an editable sample.
pub fn role(doc: &mut DocumentMut, index: usize) -> &mut toml_edit::Table {
    doc["identity"]
        .as_array_of_tables_mut()
        .and_then(|identities| identities.get_mut(index))
        .and_then(|identity| identity.get_mut("role"))
        .and_then(|role| role.as_table_mut())
        .expect("sample identity has a [identity.role] table")
}

/// Replaces a role's static keys by another source (`command`, `profile`).
pub fn set_role_source(doc: &mut DocumentMut, index: usize, fields: &[(&str, &str)]) {
    let role = role(doc, index);
    for key in [
        "source",
        "access_key_id",
        "secret_access_key",
        "session_token",
    ] {
        role.remove(key);
    }
    for (key, value) in fields {
        role[*key] = toml_edit::value(*value);
    }
}

/// The sample text with the proxy image and the broker port replaced, for runs against the
/// real engine (the offline image) or on a free port.
pub fn sample_text_with(port: u16, proxy_image: Option<&str>) -> String {
    let mut doc = sample();
    doc["broker"]["port"] = toml_edit::value(i64::from(port));
    if let Some(image) = proxy_image {
        doc["proxy"]["image"] = toml_edit::value(image);
    }
    doc.to_string()
}
