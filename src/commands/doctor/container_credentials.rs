//! `doctor --container`: the container credential variables SDKs read before IMDS
//! (`AWS_CONTAINER_*`, docs/protocol.md §7) and `ECS_CONTAINER_METADATA_URI_V4`. Pure: the
//! token file's contents are read from the container by the caller.

use std::net::IpAddr;

use super::report::Level;
use crate::docker::ContainerFile;

const RELATIVE_URI: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
const FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub(super) const TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
const TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
const METADATA_URI_V4: &str = "ECS_CONTAINER_METADATA_URI_V4";

/// The ECS door, which SDKs prefix a relative URI with.
const ECS_HOST: &str = "169.254.170.2";
const EKS_HOST: &str = "169.254.170.23";
const EKS_HOST_V6: &str = "fd00:ec2::23";
/// What to write instead of a refused or unreachable FULL_URI.
const EKS_FULL_URI: &str = "http://169.254.170.23/v1/credentials";
const NEWLINE_BREAKS: &str =
    "botocore raises ValueError and the Rust SDK and Node refuse the header, so no credentials";

/// How the token file read went: its contents, or why it could not be read.
pub(super) type TokenFileRead = Result<ContainerFile, String>;

/// One line of the report: level, check name, text.
pub(super) type Finding = (Level, &'static str, String);

/// Every finding about the container's credential and task metadata variables.
/// `token_file` is the read of `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, when it is set.
pub(super) fn findings(
    env: &[(String, String)],
    token_file: Option<&TokenFileRead>,
) -> Vec<Finding> {
    let get = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let mut found = Vec::new();
    let relative = get(RELATIVE_URI).filter(|v| !v.is_empty());
    let full = get(FULL_URI).filter(|v| !v.is_empty());
    let file_path = get(TOKEN_FILE).filter(|v| !v.is_empty());
    let token = get(TOKEN);
    let mut line = |level, text: String| found.push((level, "credentials", text));

    if relative.is_none() && full.is_none() && file_path.is_none() && token.is_none() {
        line(
            Level::Ok,
            "no AWS_CONTAINER_* variables: SDKs ask IMDS at 169.254.169.254".to_string(),
        );
    }
    if relative.is_some() && full.is_some() {
        line(Level::Warn, format!(
            "{RELATIVE_URI} and {FULL_URI} are both set, and SDKs disagree which wins: botocore (Python) uses RELATIVE, the JS v3 and Go v1 SDKs use FULL (JS warns). Remove one"
        ));
    }
    if let Some(relative) = relative {
        if relative.starts_with('/') {
            line(
                Level::Ok,
                format!("{RELATIVE_URI}={relative}: SDKs ask http://{ECS_HOST}{relative}"),
            );
        } else {
            line(Level::Fail, format!(
                "{RELATIVE_URI}={relative} does not start with /: SDKs append it to http://{ECS_HOST}, which makes no valid URL. Write /{relative}"
            ));
        }
    }
    if let Some(full) = full {
        let (level, text) = full_uri_finding(full, file_path.is_some() || token.is_some());
        line(level, text);
    }
    if let Some(path) = file_path {
        let (level, text) = token_file_finding(path, token_file);
        line(level, text);
    }
    if let Some(token) = token {
        if token.contains(['\n', '\r']) {
            line(
                Level::Fail,
                format!("{TOKEN} contains a newline: {NEWLINE_BREAKS}. Set it without one"),
            );
        }
        if file_path.is_some() {
            line(Level::Warn, format!(
                "{TOKEN_FILE} and {TOKEN} are both set: botocore and the Rust SDK send the file's token, JS v3 sends {TOKEN} (and warns); Go v2 unverified. Keep one"
            ));
        }
    }
    if let Some(uri) = get(METADATA_URI_V4) {
        found.push(metadata_uri_finding(uri));
    }
    found
}

/// The FULL_URI: a host SDKs accept for plain http, reachable from a container, and a
/// token when it is the EKS door.
fn full_uri_finding(uri: &str, has_token: bool) -> (Level, String) {
    let (scheme, host) = match scheme_and_host(uri) {
        Ok(parts) => parts,
        Err(why) => return (Level::Fail, format!("{FULL_URI}={uri}: {why}")),
    };
    match (scheme.as_str(), classify_host(&host)) {
        ("https", _) => (Level::Warn, format!(
            "{FULL_URI}={uri}: SDKs accept https anywhere, but imds-spoof serves plain http; for its EKS door use {EKS_FULL_URI}"
        )),
        ("http", HostKind::EksEndpoint) if !has_token => (Level::Fail, format!(
            "{FULL_URI}={uri} without {TOKEN_FILE}: the EKS door answers 400 without a token. Write one with `imds-spoof token --identity NAME --out FILE` and mount it, then set {TOKEN_FILE}"
        )),
        ("http", HostKind::EksEndpoint | HostKind::EcsEndpoint) => {
            (Level::Ok, format!("{FULL_URI}={uri}: a host every SDK accepts over http"))
        }
        ("http", HostKind::Loopback) => (Level::Warn, format!(
            "{FULL_URI}={uri}: SDKs accept loopback, but inside a container it is the container itself, not your machine (unless it shares the host's network). Use {EKS_FULL_URI} with a token file"
        )),
        ("http", HostKind::Name) => (Level::Fail, format!(
            "{FULL_URI}={uri}: botocore and JS v3 refuse plain http to {host}; the Rust and Go SDKs accept it only when every address it resolves to is loopback or a container endpoint. Use {EKS_FULL_URI}"
        )),
        ("http", HostKind::OtherAddress) => (Level::Fail, format!(
            "{FULL_URI}={uri}: SDKs refuse plain http to {host} (allowed: loopback, localhost, {ECS_HOST}, {EKS_HOST}, [{EKS_HOST_V6}]). Use {EKS_FULL_URI}"
        )),
        (other, _) => (Level::Fail, format!(
            "{FULL_URI}={uri}: scheme {other:?}; SDKs take http or https only"
        )),
    }
}

fn token_file_finding(path: &str, read: Option<&TokenFileRead>) -> (Level, String) {
    let fix =
        "Write it with `imds-spoof token --identity NAME --out FILE` (no newline) and mount it";
    match read {
        None => (Level::Warn, format!("{TOKEN_FILE}={path}: not read")),
        Some(Err(why)) => (Level::Warn, format!("{TOKEN_FILE}={path}: could not read it: {why}")),
        Some(Ok(ContainerFile::Missing)) => (Level::Fail, format!(
            "{TOKEN_FILE}={path} does not exist in the container: SDKs fail to read it and get no credentials. {fix}"
        )),
        Some(Ok(ContainerFile::NotAFile)) => (Level::Fail, format!(
            "{TOKEN_FILE}={path} is not a regular file in the container. {fix}"
        )),
        Some(Ok(ContainerFile::File { contents, truncated })) => {
            if contents.is_empty() {
                (Level::Fail, format!("{TOKEN_FILE}={path} is empty. {fix}"))
            } else if !*truncated && (contents.ends_with(b"\n") || contents.ends_with(b"\r")) {
                (Level::Fail, format!(
                    "{TOKEN_FILE}={path} ends with a newline: {NEWLINE_BREAKS}. {fix}"
                ))
            } else if contents.iter().any(|b| b.is_ascii_control()) {
                (Level::Fail, format!(
                    "{TOKEN_FILE}={path} has a line break or control character inside: no SDK can send it as a header. {fix}"
                ))
            } else {
                (Level::Ok, format!(
                    "{TOKEN_FILE}={path}: {}{} bytes, no trailing newline",
                    if *truncated { "over " } else { "" },
                    contents.len()
                ))
            }
        }
    }
}

/// Task metadata v4 is served at the ECS door; anything else is another server.
fn metadata_uri_finding(uri: &str) -> Finding {
    let suggested = format!("http://{ECS_HOST}/v4/self");
    let (level, text) = match scheme_and_host(uri) {
        Ok((scheme, host)) if scheme == "http" && host == ECS_HOST => {
            (Level::Ok, format!("{METADATA_URI_V4}={uri}: the ECS door"))
        }
        Ok((_, host)) => (Level::Warn, format!(
            "{METADATA_URI_V4}={uri} points at {host}, not {ECS_HOST}: agents reading it do not reach imds-spoof. Use {suggested}"
        )),
        Err(why) => (Level::Warn, format!("{METADATA_URI_V4}={uri}: {why}. Use {suggested}")),
    };
    (level, "task metadata", text)
}

/// How SDKs treat a FULL_URI host over plain http.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HostKind {
    /// 169.254.170.2.
    EcsEndpoint,
    /// 169.254.170.23 or fd00:ec2::23.
    EksEndpoint,
    /// `localhost`, 127.0.0.0/8, ::1.
    Loopback,
    /// A name other than localhost (only Rust and Go resolve and check it).
    Name,
    /// Any other address.
    OtherAddress,
}

/// docs/protocol.md §7's list: botocore, Rust, Go and JS v3 accept plain http to these.
pub(super) fn classify_host(host: &str) -> HostKind {
    if host.eq_ignore_ascii_case("localhost") {
        return HostKind::Loopback;
    }
    let Ok(ip) = host.parse::<IpAddr>() else {
        return HostKind::Name;
    };
    let ecs: IpAddr = [169, 254, 170, 2].into();
    let eks: IpAddr = [169, 254, 170, 23].into();
    let eks_v6: IpAddr = [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23].into();
    if ip == ecs {
        HostKind::EcsEndpoint
    } else if ip == eks || ip == eks_v6 {
        HostKind::EksEndpoint
    } else if ip.is_loopback() {
        HostKind::Loopback
    } else {
        HostKind::OtherAddress
    }
}

/// Lowercase scheme and host (no port, no brackets, no user) of an absolute URL.
pub(super) fn scheme_and_host(uri: &str) -> Result<(String, String), String> {
    let (scheme, rest) = uri
        .split_once("://")
        .ok_or("not an absolute URL (scheme://host/path)")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed
            .split_once(']')
            .map(|(host, _)| host)
            .ok_or("an IPv6 host without its closing ]")?
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err("no host".to_string());
    }
    Ok((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::test_support::env;

    fn levels(found: &[Finding]) -> Vec<Level> {
        found.iter().map(|(level, _, _)| *level).collect()
    }

    #[test]
    fn hosts_follow_the_sdks_allow_list() {
        for (uri, kind) in [
            (
                "http://169.254.170.2/v2/credentials/x",
                HostKind::EcsEndpoint,
            ),
            (
                "http://169.254.170.23/v1/credentials",
                HostKind::EksEndpoint,
            ),
            (
                "http://[fd00:ec2::23]/v1/credentials",
                HostKind::EksEndpoint,
            ),
            (
                "http://[FD00:EC2:0::23]:80/v1/credentials",
                HostKind::EksEndpoint,
            ),
            ("http://localhost:1338/v2/credentials/x", HostKind::Loopback),
            ("http://LOCALHOST/x", HostKind::Loopback),
            ("http://127.0.0.1:1338/x", HostKind::Loopback),
            ("http://127.1.2.3/x", HostKind::Loopback),
            ("http://[::1]:9/x", HostKind::Loopback),
            ("http://user@169.254.170.23/x", HostKind::EksEndpoint),
            ("http://evil.com/x", HostKind::Name),
            ("http://localhost.evil.com/x", HostKind::Name),
            ("http://169.254.169.254/x", HostKind::OtherAddress),
            ("http://10.0.0.1/x", HostKind::OtherAddress),
            ("http://[fd00:ec2::254]/x", HostKind::OtherAddress),
        ] {
            let (_, host) = scheme_and_host(uri).unwrap();
            assert_eq!(classify_host(&host), kind, "{uri}");
        }
        assert!(scheme_and_host("169.254.170.23/v1/credentials").is_err());
        assert!(scheme_and_host("http:///x").is_err());
        assert!(scheme_and_host("http://[fd00:ec2::23/x").is_err());
    }

    #[test]
    fn a_clean_environment_is_ok() {
        let found = findings(&env(&[("PATH", "/bin")]), None);
        assert_eq!(levels(&found), [Level::Ok]);
        let good = env(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", EKS_FULL_URI),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/token"),
            (
                "ECS_CONTAINER_METADATA_URI_V4",
                "http://169.254.170.2/v4/self",
            ),
        ]);
        let file = Ok(ContainerFile::File {
            contents: b"eyJ.a.b".to_vec(),
            truncated: false,
        });
        let found = findings(&good, Some(&file));
        assert_eq!(
            levels(&found),
            [Level::Ok, Level::Ok, Level::Ok],
            "{found:?}"
        );
    }

    #[test]
    fn each_problem_is_reported_with_its_fix() {
        let bad = env(&[
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/credentials/x"),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://evil.com/creds",
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/token"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc"),
            ("ECS_CONTAINER_METADATA_URI_V4", "http://10.0.0.9/v4/x"),
        ]);
        let newline = Ok(ContainerFile::File {
            contents: b"abc\n".to_vec(),
            truncated: false,
        });
        let found = findings(&bad, Some(&newline));
        let text: Vec<&str> = found.iter().map(|(_, _, text)| text.as_str()).collect();
        let has = |level: Level, words: &str| {
            found
                .iter()
                .any(|(l, _, text)| *l == level && text.contains(words))
        };
        assert!(
            has(Level::Warn, "botocore (Python) uses RELATIVE"),
            "{text:#?}"
        );
        assert!(has(Level::Fail, "does not start with /"), "{text:#?}");
        assert!(
            has(
                Level::Fail,
                "botocore and JS v3 refuse plain http to evil.com"
            ),
            "{text:#?}"
        );
        assert!(has(Level::Fail, "ends with a newline"), "{text:#?}");
        assert!(
            has(Level::Warn, "JS v3 sends AWS_CONTAINER_AUTHORIZATION_TOKEN"),
            "{text:#?}"
        );
        assert!(has(Level::Warn, "points at 10.0.0.9"), "{text:#?}");
        assert_eq!(found.len(), 6, "{text:#?}");

        let missing = Ok(ContainerFile::Missing);
        let eks_without_file = env(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", EKS_FULL_URI),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nope"),
        ]);
        let found = findings(&eks_without_file, Some(&missing));
        assert_eq!(levels(&found), [Level::Ok, Level::Fail]);
        assert!(found[1].2.contains("does not exist in the container"));

        let no_token = env(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", EKS_FULL_URI)]);
        let found = findings(&no_token, None);
        assert_eq!(levels(&found), [Level::Fail]);
        assert!(found[0].2.contains("answers 400 without a token"));

        let loopback = env(&[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:1338/v2/credentials/x",
        )]);
        assert_eq!(levels(&findings(&loopback, None)), [Level::Warn]);
        let crlf = Ok(ContainerFile::File {
            contents: b"abc\r\n".to_vec(),
            truncated: false,
        });
        let (level, _) = token_file_finding("/t", Some(&crlf));
        assert_eq!(level, Level::Fail);
    }
}
