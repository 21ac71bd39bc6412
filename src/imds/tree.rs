//! The IMDS path tree of one identity, as plain data.
//!
//! Built once per identity and configuration version; only credentials depend on the
//! clock or on a credential source, so they are markers filled in by the provider.

use crate::config::{Config, Identity};

use super::documents;

/// A node of the tree: a directory that lists its entries, or a leaf.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Dir(Dir),
    Leaf(Leaf),
}

/// A directory: each entry has the path segment that reaches it and the text the
/// listing shows (`public-keys/` lists `0=name` for the segment `0`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dir {
    entries: Vec<DirEntry>,
    /// Listings at the version level name directories without a slash, as EC2 does.
    plain_names: bool,
    /// The listing, made on first request: trees are built once per configuration version.
    rendered: std::sync::OnceLock<bytes::Bytes>,
}

#[derive(Debug, Clone, PartialEq)]
struct DirEntry {
    segment: String,
    listed_as: Option<String>,
    node: Node,
}

/// What a leaf answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf {
    /// Bytes, so answering clones a reference count rather than the text.
    Text(bytes::Bytes),
    /// Role credentials JSON from the identity's credential source.
    RoleCredentials,
    /// The same with `AccountId` (`iam/security-credentials-extended/ROLE`).
    RoleCredentialsExtended,
    /// The instance identity role's credentials (not usable for API calls on EC2 either).
    IdentityCredentials,
}

impl Dir {
    fn new() -> Self {
        Self::default()
    }

    fn plain() -> Self {
        Self {
            plain_names: true,
            ..Self::default()
        }
    }

    fn text(mut self, segment: &str, value: impl Into<String>) -> Self {
        let text: String = value.into();
        self.push(segment, None, Node::Leaf(Leaf::Text(text.into())));
        self
    }

    fn leaf(mut self, segment: &str, leaf: Leaf) -> Self {
        self.push(segment, None, Node::Leaf(leaf));
        self
    }

    fn dir(mut self, segment: &str, dir: Dir) -> Self {
        self.push(segment, None, Node::Dir(dir));
        self
    }

    fn dir_listed_as(mut self, segment: &str, listed_as: String, dir: Dir) -> Self {
        self.push(segment, Some(listed_as), Node::Dir(dir));
        self
    }

    fn push(&mut self, segment: &str, listed_as: Option<String>, node: Node) {
        self.entries.push(DirEntry {
            segment: segment.to_string(),
            listed_as,
            node,
        });
    }

    /// The listing as served, computed once.
    pub fn listing_bytes(&self) -> bytes::Bytes {
        self.rendered
            .get_or_init(|| bytes::Bytes::from(self.listing()))
            .clone()
    }

    /// The listing text: one entry a line, directories with a trailing slash, no final newline.
    pub fn listing(&self) -> String {
        let mut lines = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            let name = entry.listed_as.as_deref().unwrap_or(&entry.segment);
            let slash = matches!(entry.node, Node::Dir(_)) && !self.plain_names;
            // `public-keys/` lists `0=name` for the directory `0/`, with no slash.
            if slash && entry.listed_as.is_none() {
                lines.push(format!("{name}/"));
            } else {
                lines.push(name.to_string());
            }
        }
        lines.join("\n")
    }

    fn child(&self, segment: &[u8]) -> Option<&Node> {
        self.entries
            .iter()
            .find(|entry| entry.segment.as_bytes() == segment)
            .map(|entry| &entry.node)
    }

    /// Segments of the entries, for walking the tree in tests.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|entry| entry.segment.as_str())
    }
}

/// The API versions EC2 lists at `/`; each serves the same tree as `latest`.
pub const API_VERSIONS: &[&str] = &[
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
    "2011-01-01",
    "2011-05-01",
    "2012-01-12",
    "2014-02-25",
    "2014-11-05",
    "2015-10-20",
    "2016-04-19",
    "2016-06-30",
    "2016-09-02",
    "2018-03-28",
    "2018-08-17",
    "2018-09-24",
    "2019-10-01",
    "2020-10-27",
    "2021-01-03",
    "2021-03-23",
    "2021-07-15",
    "2022-09-24",
    "2024-04-11",
    "latest",
];

/// The text `GET /` answers.
pub fn versions_listing() -> String {
    API_VERSIONS.join("\n")
}

/// Is this first path segment a version EC2 serves?
pub fn is_version(segment: &str) -> bool {
    API_VERSIONS.contains(&segment)
}

/// Finds the node at `path` below a version root (`meta-data/instance-id`, `dynamic/`).
/// Empty segments from a trailing slash are ignored, as EC2 ignores them.
pub fn lookup<'a>(root: &'a Dir, path: &str) -> Option<&'a Node> {
    // Split as bytes: '/' never occurs inside a UTF-8 sequence, and the `char` splitter
    // cost as much as the whole walk.
    let mut segments = path
        .as_bytes()
        .split(|&byte| byte == b'/')
        .filter(|segment| !segment.is_empty());
    let first = segments.next()?;
    let mut node = root.child(first)?;
    for segment in segments {
        match node {
            Node::Dir(dir) => node = dir.child(segment)?,
            Node::Leaf(_) => return None,
        }
    }
    Some(node)
}

/// Builds the version root (`/latest/`) of one identity.
pub fn build(config: &Config, identity: &Identity, signed: &documents::SignedDocument) -> Dir {
    let mut root = Dir::plain()
        .dir("dynamic", dynamic(signed))
        .dir("meta-data", meta_data(config, identity));
    if let Some(user_data) = &identity.user_data {
        root = root.text("user-data", user_data.clone());
    }
    root
}

fn dynamic(signed: &documents::SignedDocument) -> Dir {
    Dir::new()
        .dir("fws", Dir::new().text("instance-monitoring", "disabled"))
        .dir(
            "instance-identity",
            Dir::new()
                .text("document", signed.document.clone())
                .text("pkcs7", signed.pkcs7.clone())
                .text("rsa2048", signed.rsa2048.clone())
                .text("signature", signed.signature.clone()),
        )
}

/// The meta-data root, in EC2's alphabetical order. Left out on purpose, as uncertain or
/// irrelevant locally: `metrics/vhostmd` (listed by older instances, documented as no
/// longer available), `hibernation/configured` (documented; whether it is listed on
/// instances launched without hibernation is unverified), `ancestor-ami-ids`, `kernel-id`,
/// `ramdisk-id`, `product-codes`, `ipv6` and the elastic-gpus/inference categories, which
/// only some instances have.
fn meta_data(config: &Config, identity: &Identity) -> Dir {
    let local_hostname = identity.effective_local_hostname();
    let mut dir = Dir::new()
        .text("ami-id", identity.ami_id.clone())
        .text("ami-launch-index", "0")
        .text("ami-manifest-path", "(unknown)");
    if identity.events.lifecycle_state.is_some() {
        dir = dir.dir("autoscaling", autoscaling(identity));
    }
    dir = dir
        .dir(
            "block-device-mapping",
            Dir::new()
                .text("ami", "/dev/xvda")
                .text("root", "/dev/xvda"),
        )
        .dir("events", events(identity))
        .text("hostname", local_hostname.clone());
    if let Some(role) = &identity.role {
        dir = dir.dir("iam", iam(config, identity, &role.name));
    }
    dir = dir
        .dir("identity-credentials", identity_credentials(identity))
        .text("instance-action", "none")
        .text("instance-id", identity.instance_id.clone())
        .text("instance-life-cycle", identity.instance_life_cycle.clone())
        .text("instance-type", identity.instance_type.clone())
        .text("local-hostname", local_hostname)
        .text("local-ipv4", identity.local_ipv4.to_string())
        .text("mac", identity.mac.clone())
        .dir("network", network(identity))
        .dir("placement", placement(identity))
        // In cloud-init's recorded EC2 tree (medium).
        .text("profile", "default-hvm");
    if let Some(hostname) = identity.effective_public_hostname() {
        dir = dir.text("public-hostname", hostname);
    }
    if let Some(ip) = identity.public_ipv4 {
        dir = dir.text("public-ipv4", ip.to_string());
    }
    if let Some(key) = &identity.public_key {
        let key_dir = Dir::new().text("openssh-key", key.clone());
        dir = dir.dir(
            "public-keys",
            Dir::new().dir_listed_as("0", format!("0={}", identity.key_name), key_dir),
        );
    }
    dir = dir
        .text("reservation-id", identity.reservation_id.clone())
        .text("security-groups", identity.security_groups.join("\n"))
        .dir("services", services(identity));
    if let Some(spot) = spot(identity) {
        dir = dir.dir("spot", spot);
    }
    // `nitro` on Nitro instances: unverified (docs/protocol.md §4), kept because tools read it.
    dir = dir.text("system", "nitro");
    if config.imds.tags_in_metadata {
        dir = dir.dir("tags", tags(identity));
    }
    dir
}

/// `iam/`: `info`, the role's credentials, and (unless switched off) their extended twin
/// with `AccountId` (docs/protocol.md §4, 2025). Whether EC2 lists
/// `security-credentials-extended/` in `iam/` is unverified; it is listed here so that
/// every path served is reachable by walking the tree.
fn iam(config: &Config, identity: &Identity, role: &str) -> Dir {
    let mut dir = Dir::new()
        .text("info", documents::iam_info(identity, role))
        .dir(
            "security-credentials",
            Dir::new().leaf(role, Leaf::RoleCredentials),
        );
    if config.imds.credentials_extended {
        dir = dir.dir(
            "security-credentials-extended",
            Dir::new().leaf(role, Leaf::RoleCredentialsExtended),
        );
    }
    dir
}

fn autoscaling(identity: &Identity) -> Dir {
    let state = identity.events.lifecycle_state.clone().unwrap_or_default();
    Dir::new().text("target-lifecycle-state", state)
}

/// `events/`: EC2 lists `maintenance/` always; `recommendations/` is shown here only
/// while a rebalance recommendation is active, so that every listed entry answers
/// (EC2 answers 404 for `recommendations/rebalance` until the signal; whether it lists
/// `recommendations/` before that is unverified).
fn events(identity: &Identity) -> Dir {
    let maintenance = Dir::new().text("history", "[]").text(
        "scheduled",
        documents::maintenance_events(&identity.events.maintenance),
    );
    let mut dir = Dir::new().dir("maintenance", maintenance);
    if let Some(notice) = &identity.events.rebalance_notice_time {
        dir = dir.dir(
            "recommendations",
            Dir::new().text("rebalance", documents::rebalance(notice)),
        );
    }
    dir
}

fn identity_credentials(identity: &Identity) -> Dir {
    Dir::new().dir(
        "ec2",
        Dir::new()
            .text("info", documents::identity_credentials_info(identity))
            .dir(
                "security-credentials",
                Dir::new().leaf("ec2-instance", Leaf::IdentityCredentials),
            ),
    )
}

/// `network/interfaces/macs/MAC/`, the fields ec2-metadata and cloud-init read.
/// `network-card` is `0` for the primary card: the key cloud-init reads
/// (`_build_nic_order`; medium), not AEMM's `network-card-index`.
/// `ipv4-associations/PUBLIC_IP` answers the private address it maps to (documented in
/// the instance metadata categories).
/// Not modelled: `ipv6s`, `ipv4-prefix`/`ipv6-prefix` (unverified) and the IPv6 CIDR
/// blocks, absent without IPv6 on EC2 too.
fn network(identity: &Identity) -> Dir {
    let mut interface = Dir::new().text("device-number", "0");
    if !identity.interface_id.is_empty() {
        interface = interface.text("interface-id", identity.interface_id.clone());
    }
    if let Some(public_ip) = identity.public_ipv4 {
        interface = interface.dir(
            "ipv4-associations",
            Dir::new().text(&public_ip.to_string(), identity.local_ipv4.to_string()),
        );
    }
    interface = interface
        .text("local-hostname", identity.effective_local_hostname())
        .text("local-ipv4s", identity.local_ipv4.to_string())
        .text("mac", identity.mac.clone())
        .text("network-card", "0")
        .text("owner-id", identity.account_id.clone());
    if let Some(hostname) = identity.effective_public_hostname() {
        interface = interface.text("public-hostname", hostname);
    }
    if let Some(public_ip) = identity.public_ipv4 {
        interface = interface.text("public-ipv4s", public_ip.to_string());
    }
    interface = interface
        .text("security-group-ids", identity.security_group_ids.join("\n"))
        .text("security-groups", identity.security_groups.join("\n"));
    for (segment, value) in [
        ("subnet-id", &identity.subnet_id),
        ("subnet-ipv4-cidr-block", &identity.subnet_cidr),
        ("vpc-id", &identity.vpc_id),
        ("vpc-ipv4-cidr-block", &identity.vpc_cidr),
        ("vpc-ipv4-cidr-blocks", &identity.vpc_cidr),
    ] {
        if !value.is_empty() {
            interface = interface.text(segment, value.clone());
        }
    }
    let macs = Dir::new().dir(&identity.mac, interface);
    Dir::new().dir("interfaces", Dir::new().dir("macs", macs))
}

fn placement(identity: &Identity) -> Dir {
    let mut dir = Dir::new().text("availability-zone", identity.availability_zone.clone());
    if !identity.availability_zone_id.is_empty() {
        dir = dir.text(
            "availability-zone-id",
            identity.availability_zone_id.clone(),
        );
    }
    dir.text("region", identity.region.clone())
}

fn services(identity: &Identity) -> Dir {
    let (domain, partition) = documents::partition_of(&identity.region);
    Dir::new()
        .text("domain", domain)
        .text("partition", partition)
}

fn spot(identity: &Identity) -> Option<Dir> {
    let action = identity.events.spot_action.as_ref()?;
    let time = identity.events.spot_time.as_ref()?;
    Some(
        Dir::new()
            .text(
                "instance-action",
                documents::spot_instance_action(action, time),
            )
            .text("termination-time", time.clone()),
    )
}

fn tags(identity: &Identity) -> Dir {
    let mut instance = Dir::new();
    for (key, value) in identity
        .tags
        .iter()
        .filter(|(key, _)| servable_tag_key(key))
    {
        instance = instance.text(key, value.clone());
    }
    Dir::new().dir("instance", instance)
}

/// EC2 only puts tags in metadata whose keys can be a path segment: no `/` or space, not
/// `.`, `..` or `_index`, and only letters, digits and `+-=.,_:@`. Other keys are left
/// out rather than listed as entries no request could reach.
fn servable_tag_key(key: &str) -> bool {
    !key.is_empty()
        && !matches!(key, "." | ".." | "_index")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-=.,_:@".contains(c))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{self, MaintenanceEvent};

    fn sample() -> Config {
        config::parse(Path::new("sample.toml"), config::SAMPLE_CONFIG).expect("sample parses")
    }

    fn signed() -> documents::SignedDocument {
        documents::SignedDocument {
            document: "{document}".to_string(),
            signature: "signature".to_string(),
            pkcs7: "pkcs7".to_string(),
            rsa2048: "rsa2048".to_string(),
        }
    }

    /// The `/latest/` root of identity `index` after `edit`.
    fn root_with(index: usize, edit: impl FnOnce(&mut Config)) -> Dir {
        let mut config = sample();
        edit(&mut config);
        build(&config, &config.identities[index], &signed())
    }

    fn root() -> Dir {
        root_with(0, |_| {})
    }

    fn text(root: &Dir, path: &str) -> String {
        match lookup(root, path) {
            Some(Node::Leaf(Leaf::Text(bytes))) => {
                String::from_utf8(bytes.to_vec()).expect("UTF-8")
            }
            other => panic!("{path} is not a text leaf: {other:?}"),
        }
    }

    fn listing(root: &Dir, path: &str) -> String {
        let dir = if path.is_empty() {
            root
        } else {
            match lookup(root, path) {
                Some(Node::Dir(dir)) => dir,
                other => panic!("{path} is not a directory: {other:?}"),
            }
        };
        let listing = dir.listing();
        assert_eq!(
            dir.listing_bytes(),
            listing.as_bytes(),
            "{path}: cached listing"
        );
        listing
    }

    #[test]
    fn the_version_root_lists_its_directories_without_slashes() {
        assert_eq!(listing(&root(), ""), "dynamic\nmeta-data\nuser-data");
        let worker = root_with(1, |_| {});
        assert_eq!(listing(&worker, ""), "dynamic\nmeta-data", "no user-data");
        assert_eq!(
            text(&root(), "user-data"),
            "#!/bin/bash\necho hello from imds-spoof\n"
        );
    }

    #[test]
    fn listings_mark_directories_and_end_without_a_newline() {
        let root = root();
        let meta = listing(&root, "meta-data");
        assert!(!meta.ends_with('\n'), "{meta:?}");
        let lines: Vec<&str> = meta.lines().collect();
        for dir in [
            "block-device-mapping/",
            "events/",
            "iam/",
            "network/",
            "placement/",
        ] {
            assert!(lines.contains(&dir), "{dir} in {meta:?}");
        }
        for leaf in [
            "ami-id",
            "instance-id",
            "local-ipv4",
            "mac",
            "security-groups",
        ] {
            assert!(lines.contains(&leaf), "{leaf} in {meta:?}");
        }
        // Every listed entry is a node of the kind its listing says.
        let Some(Node::Dir(dir)) = lookup(&root, "meta-data") else {
            panic!("meta-data is a directory");
        };
        for segment in dir.segments() {
            let node = lookup(&root, &format!("meta-data/{segment}")).expect("listed entry");
            let is_dir = matches!(node, Node::Dir(_));
            let name = if is_dir && segment != "public-keys" {
                format!("{segment}/")
            } else {
                segment.to_string()
            };
            assert!(
                lines.contains(&name.as_str()) || segment == "public-keys",
                "{name}"
            );
        }
        assert_eq!(
            listing(&root, "meta-data/placement"),
            "availability-zone\navailability-zone-id\nregion"
        );
    }

    #[test]
    fn leaves_carry_the_identity_and_lookups_ignore_empty_segments() {
        let config = sample();
        let identity = &config.identities[0];
        let root = root();
        let leaves = [
            ("meta-data/instance-id", identity.instance_id.clone()),
            ("meta-data/instance-id/", identity.instance_id.clone()),
            ("/meta-data//placement/region", identity.region.clone()),
            (
                "meta-data/placement/availability-zone",
                identity.availability_zone.clone(),
            ),
            (
                "meta-data/security-groups",
                identity.security_groups.join("\n"),
            ),
            (
                "dynamic/instance-identity/document",
                "{document}".to_string(),
            ),
            (
                "dynamic/instance-identity/signature",
                "signature".to_string(),
            ),
        ];
        for (path, expected) in leaves {
            assert_eq!(text(&root, path), expected, "{path}");
        }
        let role = identity.role.as_ref().expect("sample role");
        assert_eq!(
            listing(&root, "meta-data/iam/security-credentials"),
            role.name
        );
        assert!(matches!(
            lookup(
                &root,
                &format!("meta-data/iam/security-credentials/{}", role.name)
            ),
            Some(Node::Leaf(Leaf::RoleCredentials))
        ));
        assert!(matches!(
            lookup(
                &root,
                "meta-data/identity-credentials/ec2/security-credentials/ec2-instance"
            ),
            Some(Node::Leaf(Leaf::IdentityCredentials))
        ));
    }

    #[test]
    fn unknown_paths_and_paths_below_a_leaf_are_not_found() {
        let root = root();
        for path in [
            "",
            "/",
            "nothing",
            "meta-data/nothing",
            "meta-data/instance-id/more",
            "meta-data/iam/security-credentials/other-role",
        ] {
            assert_eq!(lookup(&root, path), None, "{path:?}");
        }
    }

    #[test]
    fn public_keys_list_index_and_name_without_a_slash() {
        let config = sample();
        let identity = &config.identities[0];
        let root = root();
        assert_eq!(
            listing(&root, "meta-data/public-keys"),
            format!("0={}", identity.key_name)
        );
        assert_eq!(listing(&root, "meta-data/public-keys/0"), "openssh-key");
        assert_eq!(
            Some(text(&root, "meta-data/public-keys/0/openssh-key")),
            identity.public_key
        );
        let without = root_with(0, |config| config.identities[0].public_key = None);
        assert_eq!(lookup(&without, "meta-data/public-keys"), None);
    }

    #[test]
    fn no_role_means_no_iam_directory() {
        let root = root_with(0, |config| config.identities[0].role = None);
        assert!(!listing(&root, "meta-data").contains("iam/"));
        assert_eq!(lookup(&root, "meta-data/iam/info"), None);
    }

    #[test]
    fn tags_are_served_only_when_switched_on_and_only_servable_keys() {
        let off = root();
        assert!(!listing(&off, "meta-data")
            .lines()
            .any(|line| line == "tags/"));
        assert_eq!(lookup(&off, "meta-data/tags/instance"), None);

        let on = root_with(0, |config| {
            config.imds.tags_in_metadata = true;
            let tags = &mut config.identities[0].tags;
            tags.insert("has space".to_string(), "x".to_string());
            tags.insert("a/b".to_string(), "x".to_string());
            tags.insert("..".to_string(), "x".to_string());
            tags.insert("team:owner@example".to_string(), "infra".to_string());
        });
        assert!(listing(&on, "meta-data")
            .lines()
            .any(|line| line == "tags/"));
        assert_eq!(listing(&on, "meta-data/tags"), "instance/");
        let keys = listing(&on, "meta-data/tags/instance");
        let config = sample();
        let mut expected: Vec<&str> = config.identities[0]
            .tags
            .keys()
            .map(String::as_str)
            .collect();
        expected.push("team:owner@example");
        expected.sort_unstable();
        assert_eq!(keys, expected.join("\n"));
        assert_eq!(
            text(&on, "meta-data/tags/instance/team:owner@example"),
            "infra"
        );
        assert_eq!(
            Some(text(&on, "meta-data/tags/instance/Name")),
            config.identities[0].tags.get("Name").cloned()
        );
    }

    #[test]
    fn servable_tag_keys_follow_ec2s_rules() {
        for key in ["Name", "a+b-c=d.e,f_g:h@i", "x.y"] {
            assert!(servable_tag_key(key), "{key}");
        }
        for key in ["", ".", "..", "_index", "a/b", "a b", "ä", "a*b"] {
            assert!(!servable_tag_key(key), "{key}");
        }
    }

    #[test]
    fn dated_versions_are_served_and_listed_in_order() {
        for version in ["1.0", "2021-07-15", "latest"] {
            assert!(is_version(version), "{version}");
        }
        for segment in ["", "2099-01-01", "meta-data", "LATEST", "latest/"] {
            assert!(!is_version(segment), "{segment}");
        }
        let listing = versions_listing();
        assert!(
            listing.starts_with("1.0\n") && listing.ends_with("\nlatest"),
            "{listing}"
        );
        let dated: Vec<&str> = API_VERSIONS
            .iter()
            .copied()
            .filter(|version| *version != "latest")
            .collect();
        let mut sorted = dated.clone();
        sorted.sort_unstable();
        assert_eq!(dated, sorted, "versions in ascending order");
    }

    #[test]
    fn events_appear_with_their_configuration() {
        let quiet = root();
        assert_eq!(listing(&quiet, "meta-data/events"), "maintenance/");
        assert_eq!(text(&quiet, "meta-data/events/maintenance/history"), "[]");
        assert_eq!(text(&quiet, "meta-data/events/maintenance/scheduled"), "[]");
        assert_eq!(lookup(&quiet, "meta-data/spot"), None);
        assert_eq!(lookup(&quiet, "meta-data/autoscaling"), None);

        let busy = root_with(0, |config| {
            let events = &mut config.identities[0].events;
            events.spot_action = Some("terminate".to_string());
            events.spot_time = Some("2030-01-01T00:02:00Z".to_string());
            events.rebalance_notice_time = Some("2030-01-01T00:00:00Z".to_string());
            events.lifecycle_state = Some("Terminated".to_string());
            events.maintenance.push(MaintenanceEvent {
                code: "system-reboot".to_string(),
                description: "scheduled reboot".to_string(),
                event_id: "instance-event-0123456789abcdef0".to_string(),
                not_before: "2030-01-02T00:00:00Z".to_string(),
                not_after: "2030-01-03T00:00:00Z".to_string(),
                not_before_deadline: None,
                state: "active".to_string(),
            });
        });
        assert_eq!(
            listing(&busy, "meta-data/events"),
            "maintenance/\nrecommendations/"
        );
        assert!(text(&busy, "meta-data/events/recommendations/rebalance")
            .contains("2030-01-01T00:00:00Z"));
        let scheduled = text(&busy, "meta-data/events/maintenance/scheduled");
        assert!(
            scheduled.contains("instance-event-0123456789abcdef0"),
            "{scheduled}"
        );
        assert_eq!(
            listing(&busy, "meta-data/spot"),
            "instance-action\ntermination-time"
        );
        assert_eq!(
            text(&busy, "meta-data/spot/termination-time"),
            "2030-01-01T00:02:00Z"
        );
        assert!(text(&busy, "meta-data/spot/instance-action").contains("terminate"));
        assert_eq!(
            text(&busy, "meta-data/autoscaling/target-lifecycle-state"),
            "Terminated"
        );
        // A spot action without a time is no notice at all.
        let half = root_with(0, |config| {
            config.identities[0].events.spot_action = Some("stop".to_string());
        });
        assert_eq!(lookup(&half, "meta-data/spot"), None);
    }
}
