//! One application container (`doctor --container NAME`): the identity it plays and what
//! its environment tells its SDKs.

use std::net::Ipv4Addr;

use super::report::{Level, Report};
use crate::config::Config;
use crate::docker::{self, Engine, NetworkPlan, LABEL_IDENTITY};

use super::container_credentials;

/// Token files are a few hundred bytes; more than this is not a token.
const TOKEN_FILE_LIMIT: usize = 64 * 1024;

pub(super) async fn container_checks(
    engine: &Engine,
    plan: &NetworkPlan,
    config: &Config,
    name: &str,
    report: &mut Report,
) {
    let container = match docker::inspect_container(engine, name).await {
        Ok(container) => container,
        Err(err) => {
            report.line(Level::Fail, "container", format!("{name}: {err}"));
            return;
        }
    };
    match container.addresses.get(&plan.name) {
        Some(ip) => report.line(
            Level::Ok,
            "attached",
            format!("{name} is on {} at {ip}", plan.name),
        ),
        None => report.line(
            Level::Fail,
            "attached",
            format!(
                "{name} is not on {0}: `docker network connect {0} {name}` (or `networks: [{0}]` as external in compose)",
                plan.name
            ),
        ),
    }
    for (level, text) in env_findings(&container.env, plan.proxy_ip, plan.ipv6.is_some()) {
        report.line(level, "environment", format!("{name}: {text}"));
    }
    let token_path = container
        .env
        .iter()
        .find(|(key, value)| key == container_credentials::TOKEN_FILE && !value.is_empty())
        .map(|(_, value)| value.clone());
    let token_file = match token_path {
        Some(path) => Some(
            docker::read_container_file(engine, name, &path, TOKEN_FILE_LIMIT)
                .await
                .map_err(|err| err.to_string()),
        ),
        None => None,
    };
    for (level, check, text) in container_credentials::findings(&container.env, token_file.as_ref())
    {
        report.line(level, check, format!("{name}: {text}"));
    }
    let (level, text) = identity_finding(config, name, container.labels.get(LABEL_IDENTITY));
    report.line(level, "identity", text);
}

/// Which identity the container's label asks for, and whether the configuration has it.
pub(super) fn identity_finding(
    config: &Config,
    name: &str,
    label: Option<&String>,
) -> (Level, String) {
    match label {
        Some(label) if config.identity(label).is_none() => (
            Level::Warn,
            format!(
                "{name} asks for identity {label:?}, which the configuration lacks: it gets {}",
                config.active_identity
            ),
        ),
        Some(label) => (Level::Ok, format!("{name} uses identity {label}")),
        None => (
            Level::Ok,
            format!(
                "{name} uses the active identity {} (label {LABEL_IDENTITY}=NAME picks another)",
                config.active_identity
            ),
        ),
    }
}

/// What in a container's environment keeps SDKs from reaching IMDS; `ipv6`: the network
/// has the IPv6 endpoint.
pub(super) fn env_findings(
    env: &[(String, String)],
    imds: Ipv4Addr,
    ipv6: bool,
) -> Vec<(Level, String)> {
    let get = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let mut findings = Vec::new();
    let proxy = ["HTTP_PROXY", "http_proxy"]
        .into_iter()
        .find_map(|key| get(key).filter(|v| !v.is_empty()).map(|v| (key, v)));
    if let Some((key, value)) = proxy {
        let no_proxy: Vec<&str> = ["NO_PROXY", "no_proxy"]
            .into_iter()
            .filter_map(get)
            .flat_map(|list| list.split(','))
            .map(str::trim)
            .collect();
        let ip = imds.to_string();
        if no_proxy.iter().any(|entry| *entry == ip || *entry == "*") {
            findings.push((Level::Ok, format!("{key} is set and NO_PROXY covers {ip}")));
        } else if no_proxy.iter().any(|entry| entry.contains('/')) {
            findings.push((Level::Warn, format!("{key}={value}; NO_PROXY covers {ip} only by a CIDR entry, which some clients (Python's urllib, used by botocore) ignore: add {ip} itself")));
        } else {
            findings.push((Level::Fail, format!("{key}={value} without NO_PROXY covering {ip}: IMDS requests go to that proxy. Add NO_PROXY={ip} (and no_proxy)")));
        }
    }
    if get("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        findings.push((
            Level::Fail,
            "AWS_EC2_METADATA_DISABLED=true: SDKs never ask IMDS. Remove it".to_string(),
        ));
    }
    let ipv6_endpoint = format!("[{}]", docker::IMDS_IPV6);
    // SDKs compare the mode case-insensitively (JS v3 wants it exact: docs/protocol.md §9).
    let ipv6_mode = get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
        .is_some_and(|mode| mode.eq_ignore_ascii_case("ipv6"))
        || get("AWS_IMDS_USE_IPV6").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let explicit = get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if ipv6_mode && !ipv6 && explicit.is_none() {
        findings.push((
            Level::Fail,
            format!("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6: SDKs call http://{ipv6_endpoint}, which this network does not have. Set [network] ipv6 = true (then restart `up`), or remove it"),
        ));
    }
    if let Some(endpoint) = explicit {
        let ours =
            endpoint.contains(&imds.to_string()) || (ipv6 && endpoint.contains(&ipv6_endpoint));
        if !ours {
            findings.push((
                Level::Warn,
                format!("AWS_EC2_METADATA_SERVICE_ENDPOINT={endpoint} points SDKs elsewhere"),
            ));
        }
    }
    if get("AWS_ACCESS_KEY_ID").is_some() || get("AWS_PROFILE").is_some() {
        findings.push((
            Level::Warn,
            "AWS_ACCESS_KEY_ID or AWS_PROFILE is set: SDKs use those before IMDS credentials"
                .to_string(),
        ));
    }
    let container_endpoint = [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .into_iter()
    .any(|key| get(key).is_some_and(|v| !v.is_empty()));
    if findings.is_empty() && container_endpoint {
        findings.push((
            Level::Ok,
            "no proxy in the way; SDKs ask the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*, below) before IMDS".to_string(),
        ));
    } else if findings.is_empty() {
        findings.push((
            Level::Ok,
            "no proxy or AWS settings that bypass IMDS".to_string(),
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::test_support::env;

    #[test]
    fn proxy_without_no_proxy_fails() {
        let imds = Ipv4Addr::new(169, 254, 169, 254);
        let found = env_findings(&env(&[("HTTP_PROXY", "http://p:3128")]), imds, false);
        assert_eq!(found[0].0, Level::Fail);
        let found = env_findings(
            &env(&[
                ("http_proxy", "http://p:3128"),
                ("no_proxy", "localhost,169.254.169.254"),
            ]),
            imds,
            false,
        );
        assert_eq!(found[0].0, Level::Ok);
        let found = env_findings(
            &env(&[("http_proxy", "http://p"), ("NO_PROXY", "169.254.0.0/16")]),
            imds,
            false,
        );
        assert_eq!(found[0].0, Level::Warn);
        let found = env_findings(&env(&[("AWS_EC2_METADATA_DISABLED", "true")]), imds, false);
        assert_eq!(found[0].0, Level::Fail);
        let found = env_findings(&env(&[("PATH", "/usr/bin")]), imds, false);
        assert_eq!(
            found,
            vec![(
                Level::Ok,
                "no proxy or AWS settings that bypass IMDS".to_string()
            )]
        );
    }

    #[test]
    fn ipv6_endpoint_mode_needs_the_ipv6_network() {
        let imds = Ipv4Addr::new(169, 254, 169, 254);
        let mode = env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")]);
        let found = env_findings(&mode, imds, false);
        assert_eq!(found[0].0, Level::Fail, "{found:?}");
        assert!(found[0].1.contains("[network] ipv6 = true"), "{found:?}");
        assert_eq!(env_findings(&mode, imds, true)[0].0, Level::Ok);
        let legacy = env(&[("AWS_IMDS_USE_IPV6", "true")]);
        assert_eq!(env_findings(&legacy, imds, false)[0].0, Level::Fail);
        let endpoint = env(&[(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "http://[fd00:ec2::254]/",
        )]);
        assert_eq!(env_findings(&endpoint, imds, true)[0].0, Level::Ok);
        assert_eq!(env_findings(&endpoint, imds, false)[0].0, Level::Warn);
    }
}
