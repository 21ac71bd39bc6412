//! Which program a User-Agent names: the SDK (or tool) and its version, for the readiness
//! report. SDKs write several `name/version` product tokens; the one that names the
//! program is chosen by rank, not position (boto3 puts `Botocore/…` last, the AWS CLI
//! names botocore after itself).

use serde::{Deserialize, Serialize};

/// A program as a User-Agent names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Agent {
    /// Lower-case program name (`boto3`, `aws-cli`, `aws-sdk-go-v2`, `curl`); None when the
    /// User-Agent names nothing this parser knows.
    pub sdk: Option<String>,
    pub version: Option<String>,
}

/// Raw User-Agents shown for unknown programs are cut to this many characters.
pub const RAW_SHOWN: usize = 40;

/// Product names known, most specific first: a token of an earlier entry wins over a
/// later one anywhere in the string. Matched case-insensitively; `*` ends a prefix.
const KNOWN: [&str; 14] = [
    // The AWS CLI (v1 ends with `botocore/…`, v2 with `md/awscrt#…`).
    "aws-cli",
    // boto3 sends `Boto3/x … Botocore/y`; botocore alone `Botocore/y`.
    "boto3",
    "botocore",
    // aws-sdk-go, aws-sdk-go-v2, aws-sdk-js (v3), aws-sdk-nodejs (v2), aws-sdk-java,
    // aws-sdk-rust, aws-sdk-dotnet-coreclr, aws-sdk-php, aws-sdk-ruby3, aws-sdk-cpp…
    "aws-sdk-*",
    "cloud-init",
    "curl",
    "wget",
    "python-requests",
    "python-urllib3",
    "python-urllib",
    "go-http-client",
    "okhttp",
    "apache-httpclient",
    "node-fetch",
];

/// The program a User-Agent names, from its best-ranked `name/version` token.
pub fn parse(user_agent: &str) -> Agent {
    let best = user_agent
        .split_ascii_whitespace()
        .filter_map(product)
        .filter_map(|(name, version)| rank(name).map(|rank| (rank, name, version)))
        // The first token of the best rank: boto3 names its own version before botocore's.
        .min_by_key(|(rank, _, _)| *rank);
    match best {
        Some((_, name, version)) => Agent {
            sdk: Some(name.to_ascii_lowercase()),
            version: Some(clean_version(version)).filter(|version| !version.is_empty()),
        },
        None => Agent {
            sdk: None,
            version: None,
        },
    }
}

/// `name/version` of a product token (`Boto3/1.34.0`); the SDKs' newer metadata tokens
/// (`md/Botocore#1.34.0`, `lang/go#1.21`) name no program and are skipped by `rank`.
fn product(token: &str) -> Option<(&str, &str)> {
    let (name, version) = token.split_once('/')?;
    (!name.is_empty()).then_some((name, version))
}

fn rank(name: &str) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    KNOWN
        .iter()
        .position(|known| match known.strip_suffix('*') {
            Some(prefix) => lower.starts_with(prefix) && lower.len() > prefix.len(),
            None => lower == *known,
        })
}

/// The version as written up to anything that is no version character (`1.2.3-rc.1+b`
/// stays; `1.34.0;` or a `#suffix` goes), at most 32 characters.
fn clean_version(version: &str) -> String {
    version
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
        .take(32)
        .collect()
}

/// The raw User-Agent as shown for an unknown program: its first [`RAW_SHOWN`] characters.
pub fn shown_raw(user_agent: &str) -> String {
    let mut chars = user_agent.chars();
    let shown: String = chars.by_ref().take(RAW_SHOWN).collect();
    if chars.next().is_some() {
        format!("{shown}…")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(user_agent: &str) -> (String, String) {
        let agent = parse(user_agent);
        (
            agent.sdk.unwrap_or_default(),
            agent.version.unwrap_or_default(),
        )
    }

    fn is(sdk: &str, version: &str) -> (String, String) {
        (sdk.to_string(), version.to_string())
    }

    /// Captured from the clients themselves (botocore 1.44.8, boto3, AWS CLI v1 in this
    /// project's venv, asking IMDS for credentials) and from public issue threads and SDK
    /// sources (noted per line).
    #[test]
    fn real_user_agents_name_their_sdk() {
        // boto3 (venv capture): its own version, not botocore's.
        assert_eq!(
            named("Boto3/1.44.8 Python/3.11.7 Linux/6.18.44-fc-v857 Botocore/1.44.8"),
            is("boto3", "1.44.8")
        );
        // botocore alone (venv capture).
        assert_eq!(
            named("Botocore/1.44.8 Python/3.11.7 Linux/6.18.44-fc-v857"),
            is("botocore", "1.44.8")
        );
        // botocore's newer format: `md/Botocore#…` is metadata, Boto3/ still names it.
        assert_eq!(
            named("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.0"),
            is("boto3", "1.34.0")
        );
        // AWS CLI v1 (venv capture), which ends with its botocore.
        assert_eq!(
            named("aws-cli/1.45.11 Python/3.11.7 Linux/6.18.44-fc-v857 botocore/1.43.11"),
            is("aws-cli", "1.45.11")
        );
        // AWS CLI v2.
        assert_eq!(
            named("aws-cli/2.15.0 md/awscrt#0.19.18 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#debian.12 md/prompt#off md/command#s3.ls"),
            is("aws-cli", "2.15.0")
        );
        // Rust SDK (aws-runtime's user_agent.rs tests).
        assert_eq!(
            named("aws-sdk-rust/0.123.test ua/0.1 api/test-service/0.123 os/windows/XPSP3 lang/rust/1.50.0"),
            is("aws-sdk-rust", "0.123.test")
        );
        // Go v2 and JS v3 (ua-parser/uap-core pull request 548).
        assert_eq!(
            named("aws-sdk-go-v2/1.18 os/linux lang/go/1.20 md/GOOS/linux md/GOARCH/amd64 api/sts/1.18"),
            is("aws-sdk-go-v2", "1.18")
        );
        assert_eq!(
            named("aws-sdk-js/3.294 os/linux/5.15 lang/js md/nodejs/16.19 api/dynamodb/3.294"),
            is("aws-sdk-js", "3.294")
        );
        // JS v3's first format (aws-sdk-js-v3 pull request 1775).
        assert_eq!(
            named("aws-sdk-js/3.0.0-rc.9 os/linux/4.14.200-155.322.amzn2.x86_64 lang/js md/nodejs/12.14.0 api/iam/3.0.0-rc.9 cfg/retry-mode/standard"),
            is("aws-sdk-js", "3.0.0-rc.9")
        );
        // Java v2 (aws-sdk-java-v2 pull request 7288, a wire capture).
        assert_eq!(
            named("aws-sdk-java/2.51.4-SNAPSHOT os/Mac_OS_X#56.7.8 lang/java#19.0.20.1 md/OpenJDK_64-Bit_Server_VM#11.0.20.1+9-LTS md/vendor#Some.com_Inc. md/en_US ft/warmup"),
            is("aws-sdk-java", "2.51.4-SNAPSHOT")
        );
        // Ruby (uap-core 548): the SDK token, not aws-sdk-core's.
        assert_eq!(
            named("aws-sdk-ruby3/3.170 ruby/3.0 x86_64-linux-musl aws-sdk-core/3.170"),
            is("aws-sdk-ruby3", "3.170")
        );
        // cloud-init (canonical/cloud-init issue 2732, its url_helper log) and curl
        // (tikv/tikv issue 16443, a curl -v to IMDS; and this machine's curl).
        assert_eq!(named("Cloud-Init/0.7.8"), is("cloud-init", "0.7.8"));
        assert_eq!(named("curl/7.76.1"), is("curl", "7.76.1"));
        assert_eq!(named("curl/7.88.1"), is("curl", "7.88.1"));
        assert_eq!(
            named("python-requests/2.31.0"),
            is("python-requests", "2.31.0")
        );
        assert_eq!(named("Go-http-client/1.1"), is("go-http-client", "1.1"));
    }

    #[test]
    fn unknown_programs_have_no_name_and_show_raw_cut() {
        for unknown in [
            "",
            "my-script",
            "Mozilla/5.0 (X11; Linux x86_64)",
            "aws-sdk-/1.0",
        ] {
            assert_eq!(parse(unknown).sdk, None, "{unknown:?}");
        }
        let long = "x".repeat(100);
        assert_eq!(shown_raw(&long), format!("{}…", "x".repeat(RAW_SHOWN)));
        assert_eq!(shown_raw("short one"), "short one");
    }

    #[test]
    fn versions_stop_at_what_is_no_version() {
        assert_eq!(named("curl/8.5.0;extra"), is("curl", "8.5.0"));
        assert_eq!(named("curl/"), is("curl", ""));
        assert_eq!(parse("curl/").version, None);
        let long = format!("curl/{}", "1".repeat(50));
        assert_eq!(parse(&long).version.map(|v| v.len()), Some(32));
    }
}
