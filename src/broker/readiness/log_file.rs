//! Readiness from a `--log-requests` file: one JSON exchange per line, as the recorder
//! writes them. Only the fields readiness needs are read, so the file's other fields may
//! grow without breaking this reader.

use std::io::BufRead;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Seen, Tally, Use};
use crate::broker::record::ImdsVersion;
use crate::broker::responses::TOKEN_HEADER;
use crate::config::Door;

#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    #[error("cannot read the request log {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: not a request-log line ({reason}); is this a file written by --log-requests?", path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// The fields of a logged exchange that readiness reads.
#[derive(Debug, Deserialize)]
struct Logged {
    time: String,
    caller_ip: Option<IpAddr>,
    caller_container: Option<String>,
    path: String,
    version: String,
    /// Absent in logs written before the ECS and EKS doors: IMDS.
    #[serde(default)]
    door: Door,
    #[serde(default)]
    request_headers: Vec<(String, String)>,
}

/// Tallies every exchange in the file. A last line without its newline is one the writer
/// had not finished (or a run that was killed mid-write) and is skipped; any other line
/// that is not an exchange is an error naming the file and line.
pub fn read_log_file(path: &Path, tally: &mut Tally) -> Result<u64, LogFileError> {
    let read_error = |source| LogFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut reader = std::io::BufReader::new(file);
    let mut line = String::new();
    let mut number = 0;
    let mut counted = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(read_error)? == 0 {
            return Ok(counted);
        }
        number += 1;
        let finished = line.ends_with('\n');
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let bad = |reason: String| LogFileError::BadLine {
            path: path.to_path_buf(),
            line: number,
            reason,
        };
        let logged: Logged = match serde_json::from_str(text) {
            Ok(logged) => logged,
            Err(_) if !finished => return Ok(counted),
            Err(err) => return Err(bad(err.to_string())),
        };
        // ECS and EKS requests have no IMDS version to be ready for.
        if logged.door != Door::Imds {
            continue;
        }
        let version = match logged.version.as_str() {
            "v1" => ImdsVersion::V1,
            "v2" => ImdsVersion::V2,
            "token-request" | "token" => ImdsVersion::TokenRequest,
            other => return Err(bad(format!("unknown version {other:?}"))),
        };
        let header = |wanted: &str| {
            logged
                .request_headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
                .map(|(_, value)| value.as_str())
        };
        tally.note(&Seen {
            time: &logged.time,
            caller_ip: logged.caller_ip,
            container: logged.caller_container.as_deref(),
            path: &logged.path,
            kind: Use::of(version, header(TOKEN_HEADER).is_some()),
            user_agent: header("user-agent"),
        });
        counted += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::record::ExchangeRecord;

    fn line(record: &ExchangeRecord) -> String {
        serde_json::to_string(&record.masked()).unwrap()
    }

    #[test]
    fn reads_what_the_recorder_writes() {
        let v1 = ExchangeRecord {
            caller_ip: Some("127.0.0.1".parse().unwrap()),
            path: "/latest/meta-data/".into(),
            request_headers: vec![("user-agent", "curl/7.88.1")].into(),
            ..ExchangeRecord::sample(1)
        };
        let token = ExchangeRecord {
            version: ImdsVersion::TokenRequest,
            caller_container: Some("app".into()),
            ..v1.clone()
        };
        let v2 = ExchangeRecord {
            version: ImdsVersion::V2,
            request_headers: vec![(TOKEN_HEADER, "tokentokentoken1234")].into(),
            ..token.clone()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        // A door's request is no IMDS use at all.
        let ecs = ExchangeRecord {
            door: Door::Ecs,
            caller_ip: Some("127.0.0.9".parse().unwrap()),
            ..v1.clone()
        };
        // The last line is half written.
        let text = format!(
            "{}\n\n{}\n{}\n{}\n{{\"id\":4,\"ti",
            line(&v1),
            line(&ecs),
            line(&token),
            line(&v2)
        );
        std::fs::write(&path, text).unwrap();
        let mut tally = Tally::new();
        assert_eq!(read_log_file(&path, &mut tally).unwrap(), 3);
        let report = tally.report();
        assert_eq!(report.v1_callers, 1);
        assert_eq!(report.callers[0].caller, "127.0.0.1");
        assert_eq!(report.callers[0].agents[0].label(), "curl 7.88.1");
        assert_eq!(report.callers[1].caller, "app");
        assert_eq!(report.callers[1].counts.v2_requests, 1);
        assert_eq!(report.callers[1].counts.token_requests, 1);
    }

    #[test]
    fn a_bad_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, "{\"not\": \"an exchange\"}\n").unwrap();
        let err = read_log_file(&path, &mut Tally::new()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("log.jsonl:1: not a request-log line"),
            "{text}"
        );
        let missing = read_log_file(&dir.path().join("absent"), &mut Tally::new()).unwrap_err();
        assert!(
            missing.to_string().contains("cannot read the request log"),
            "{missing}"
        );
    }
}
