//! The shell command that asks a recorded request again, from the same container
//! (`docker exec NAME sh -c '…'`), for `y` in the requests pane. A container chooses
//! its request's path and headers: nothing of them reaches the command unescaped, and
//! credentials are read inside the container (a fresh IMDSv2 token, the ECS or EKS
//! authorization from the container's environment), never copied out of the record.

use std::net::SocketAddr;

use crate::broker::{ExchangeRecord, ImdsVersion};
use crate::config::Door;

/// The token lifetime the reproducing command asks for.
const TOKEN_TTL: &str = "21600";

/// Prints the status on its own line after the body, as the dashboard shows both.
const CURL: &str = "curl -s -w \"\\n%{http_code}\\n\"";

/// `docker exec` for a request from a container; plain `curl` for one from this machine
/// (the loopback broker at `broker`).
pub fn command(record: &ExchangeRecord, broker: Option<SocketAddr>) -> Result<String, String> {
    let path = url_path(&record.path);
    let script_for = |host: &str| script(record, host, &path);
    match (&record.caller_container, record.caller_ip, broker) {
        (Some(container), _, _) => {
            if !is_container_name(container) {
                return Err(format!(
                    "{container:?} is not a container name docker accepts"
                ));
            }
            let host = door_host(record);
            Ok(format!(
                "docker exec {container} sh -c '{}'",
                script_for(&host)
            ))
        }
        (None, Some(ip), Some(broker)) if ip.is_loopback() => {
            Ok(format!("sh -c '{}'", script_for(&broker.to_string())))
        }
        _ => Err("this caller is not a container the engine named: nothing to run it in".into()),
    }
}

/// The commands run inside the container (double quotes only: the whole is wrapped in
/// single quotes).
fn script(record: &ExchangeRecord, host: &str, path: &str) -> String {
    let url = format!("\"http://{host}{path}\"");
    match (record.door, record.version) {
        (Door::Imds, ImdsVersion::TokenRequest) => format!(
            "{CURL} -X PUT -H \"X-aws-ec2-metadata-token-ttl-seconds: {TOKEN_TTL}\" {url}"
        ),
        (Door::Imds, ImdsVersion::V2) => format!(
            "TOKEN=$(curl -s -X PUT -H \"X-aws-ec2-metadata-token-ttl-seconds: {TOKEN_TTL}\" \
             \"http://{host}/latest/api/token\"); {CURL}{} -H \"X-aws-ec2-metadata-token: $TOKEN\" {url}",
            method(record)
        ),
        (Door::Ecs, _) if has_authorization(record) => format!(
            "{CURL}{} -H \"Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN\" {url}",
            method(record)
        ),
        (Door::Eks, _) => format!(
            "{CURL}{} -H \"Authorization: $(cat \"$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\")\" {url}",
            method(record)
        ),
        _ => format!("{CURL}{} {url}", method(record)),
    }
}

fn has_authorization(record: &ExchangeRecord) -> bool {
    record
        .request_headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
}

/// ` -X METHOD` for anything but GET (letters only).
fn method(record: &ExchangeRecord) -> String {
    let method = record.method.as_ref();
    if method == "GET" || method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        String::new()
    } else {
        format!(" -X {method}")
    }
}

/// The address the container asked (its Host header) when it is a plain address,
/// else the door's usual one.
fn door_host(record: &ExchangeRecord) -> String {
    let host = record
        .request_headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map(|(_, value)| value);
    let plain = |host: &&str| {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b".:[]".contains(&b))
    };
    match host.filter(plain) {
        Some(host) => host.to_string(),
        None => match record.door {
            Door::Imds => "169.254.169.254",
            Door::Ecs => "169.254.170.2",
            Door::Eks => "169.254.170.23",
        }
        .to_string(),
    }
}

/// The path with every byte a shell or a quote could read percent-encoded.
fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/:@!,=+%?&".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.starts_with('/') {
        out
    } else {
        format!("/{out}")
    }
}

/// Docker's container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn is_container_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::HeaderList;
    use crate::config::IdentityOrigin;

    fn record(path: &str, version: ImdsVersion, door: Door) -> ExchangeRecord {
        ExchangeRecord {
            id: 1,
            time: "2026-12-07T12:00:00.000Z".into(),
            caller_ip: "169.254.0.2".parse().ok(),
            caller_container: Some("app-1".into()),
            identity: "default".into(),
            identity_origin: IdentityOrigin::Active,
            door,
            method: "GET".into(),
            path: path.into(),
            version,
            status: 200,
            latency_us: 1,
            request_headers: HeaderList::from(vec![(
                "host".to_string(),
                "169.254.169.254".to_string(),
            )]),
            response_headers: HeaderList::default(),
            response_body: String::new().into(),
            body_truncated: false,
            provider_error: None,
            fault: None,
        }
    }

    #[test]
    fn an_imdsv2_request_gets_a_fresh_token_inside_the_container() {
        let command = command(
            &record("/latest/meta-data/instance-id", ImdsVersion::V2, Door::Imds),
            None,
        )
        .unwrap();
        assert!(
            command.starts_with("docker exec app-1 sh -c '"),
            "{command}"
        );
        assert!(command.contains("TOKEN=$(curl -s -X PUT"), "{command}");
        assert!(command.contains("\"http://169.254.169.254/latest/meta-data/instance-id\""));
        assert_eq!(command.matches('\'').count(), 2, "{command}");
    }

    #[test]
    fn a_hostile_path_cannot_leave_its_quotes() {
        let command = command(
            &record(
                "/latest/'; rm -rf ~; echo \"$(id)`x`",
                ImdsVersion::V1,
                Door::Imds,
            ),
            None,
        )
        .unwrap();
        assert_eq!(command.matches('\'').count(), 2, "{command}");
        for bad in ["$(id)", "`", "; rm", "\"$"] {
            assert!(!command.contains(bad), "{bad} in {command}");
        }
        let mut evil = record("/latest/meta-data/", ImdsVersion::V1, Door::Imds);
        evil.caller_container = Some("x; rm -rf /".into());
        assert!(super::command(&evil, None).is_err());
    }

    #[test]
    fn door_credentials_are_read_in_the_container_not_copied() {
        let mut ecs = record("/v2/credentials/worker", ImdsVersion::V1, Door::Ecs);
        ecs.request_headers = HeaderList::from(vec![
            ("host".to_string(), "169.254.170.2".to_string()),
            ("authorization".to_string(), "secret-token".to_string()),
        ]);
        let command = command(&ecs, None).unwrap();
        assert!(
            command.contains("$AWS_CONTAINER_AUTHORIZATION_TOKEN"),
            "{command}"
        );
        assert!(!command.contains("secret-token"));
        assert!(command.contains("http://169.254.170.2/v2/credentials/worker"));
    }
}
