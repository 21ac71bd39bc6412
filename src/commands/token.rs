//! `imds-spoof token`: an EKS Pod Identity token for a compose service to mount where
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` points (docs/doors.md).

use std::io::Write;

use crate::broker::doors::{pod_token, PodTokenKey, ServiceAccount};
use crate::cli::{GlobalArgs, TokenArgs};
use crate::config::IDENTITY_NAMESPACE;

pub fn run(global: &GlobalArgs, args: &TokenArgs) -> anyhow::Result<()> {
    let ttl = parse_ttl(&args.ttl)?;
    let store = super::open_store(global)?;
    let config = store.current();
    let config_path = super::config_path(global);
    let account = match (&global.identity, &args.service_account) {
        (Some(identity), None) => {
            if config.identity(identity).is_none() {
                anyhow::bail!(
                    "--identity {identity:?} names no [[identity]] in {}",
                    config_path.display()
                );
            }
            ServiceAccount::parse(&format!("{IDENTITY_NAMESPACE}/{identity}")).ok_or_else(|| {
                anyhow::anyhow!(
                    "--identity {identity:?} cannot be a service account name (no '/' or ':')"
                )
            })?
        }
        (None, Some(name)) => {
            let account = ServiceAccount::parse(name).ok_or_else(|| {
                anyhow::anyhow!("--service-account {name:?}: write it as namespace/name")
            })?;
            if config
                .identity_for_service_account(&account.namespace, &account.name)
                .is_none()
            {
                anyhow::bail!(
                    "--service-account {account} is mapped to no identity: add [[service_account]] name = \"{account}\" identity = \"NAME\" to {}",
                    config_path.display()
                );
            }
            account
        }
        _ => anyhow::bail!("say whose token: --identity NAME or --service-account NAMESPACE/NAME"),
    };
    let key = PodTokenKey::load_or_create(&pod_token::key_dir(Some(&config_path)))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = key.issue(&account, now, ttl);
    // No trailing newline anywhere: botocore, the Rust SDK and Node reject a token with one.
    match &args.out {
        Some(path) => {
            let mode = if args.readable { 0o644 } else { 0o600 };
            crate::config::write_file_atomically(path, token.as_bytes(), mode)
                .map_err(|err| anyhow::anyhow!("writing {}: {err}", path.display()))?;
            eprintln!(
                "wrote a token for service account {account} to {} (valid {}; mode {mode:o})",
                path.display(),
                args.ttl
            );
        }
        None => {
            let mut stdout = std::io::stdout();
            stdout.write_all(token.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// `3600`, `90s`, `45m`, `12h`, `30d` → seconds (at least one).
fn parse_ttl(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, unit)) if unit.is_ascii_alphabetic() => (&text[..at], unit),
        _ => (text, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => anyhow::bail!("--ttl {text:?}: the unit is s, m, h or d"),
    };
    let seconds = number
        .parse::<i64>()
        .ok()
        .and_then(|value| value.checked_mul(scale))
        .filter(|seconds| *seconds >= 1)
        .ok_or_else(|| {
            anyhow::anyhow!("--ttl {text:?}: a positive number with s, m, h or d, like 30d")
        })?;
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_take_units() {
        assert_eq!(parse_ttl("3600").unwrap(), 3600);
        assert_eq!(parse_ttl("90s").unwrap(), 90);
        assert_eq!(parse_ttl("45m").unwrap(), 2700);
        assert_eq!(parse_ttl("12h").unwrap(), 43_200);
        assert_eq!(parse_ttl("30d").unwrap(), 2_592_000);
        for bad in ["", "0", "-5m", "5w", "m", "1.5h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
