//! Readiness being gathered: a [`Tally`] is fed exchanges (the broker's records, or the
//! lines of a `--log-requests` file, as [`Seen`]) and gives a [`Report`].

use std::collections::HashMap;

use super::report::{CallerReport, Report, FORMAT, MAX_CALLERS, OTHER_CALLERS};
use super::seen::Seen;
use crate::broker::record::ExchangeRecord;
use crate::digits::IpText;

/// Readiness being gathered.
#[derive(Debug, Default)]
pub struct Tally {
    callers: HashMap<String, CallerReport>,
    missed: u64,
}

impl Tally {
    pub fn new() -> Tally {
        Tally::default()
    }

    /// Counts one broker record.
    pub fn note_record(&mut self, record: &ExchangeRecord) {
        // ECS and EKS requests have no IMDS version to be ready for.
        if record.door == crate::config::Door::Imds {
            self.note(&Seen::of_record(record));
        }
    }

    /// Counts one exchange; one refused before its caller was known is skipped.
    pub fn note(&mut self, seen: &Seen<'_>) {
        // A caller seen before (nearly always) is found without making its key.
        let ip_text = seen.caller_ip.map(IpText::new);
        let known: Option<&str> = match (seen.container, &ip_text) {
            (Some(container), _) => Some(container),
            (None, Some(ip)) => Some(ip.as_str()),
            (None, None) => return,
        };
        if let Some(caller) = known.and_then(|key| self.callers.get_mut(key)) {
            caller.note(seen);
            return;
        }
        let key = match (seen.container, seen.caller_ip) {
            (Some(container), _) => container.to_string(),
            (None, Some(ip)) => ip.to_string(),
            (None, None) => return,
        };
        let key = if self.callers.len() >= MAX_CALLERS && !self.callers.contains_key(&key) {
            OTHER_CALLERS.to_string()
        } else {
            key
        };
        self.callers
            .entry(key.clone())
            .or_insert_with(|| {
                let container = seen.container.filter(|_| key != OTHER_CALLERS);
                CallerReport::new(key.clone(), container.map(str::to_string), seen.time)
            })
            .note(seen);
    }

    /// Exchanges that happened but were never seen here.
    pub fn note_missed(&mut self, count: u64) {
        self.missed += count;
    }

    /// Adds another report (another running imds-spoof's).
    pub fn absorb(&mut self, report: Report) {
        self.missed += report.missed;
        for caller in report.callers {
            match self.callers.get_mut(&caller.caller) {
                Some(known) => known.absorb(caller),
                None => {
                    self.callers.insert(caller.caller.clone(), caller);
                }
            }
        }
    }

    /// Callers seen so far (rows of the report).
    pub fn len(&self) -> usize {
        self.callers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.callers.is_empty()
    }

    pub fn report(&self) -> Report {
        let mut callers: Vec<CallerReport> = self.callers.values().cloned().collect();
        for caller in &mut callers {
            caller.sort();
        }
        callers.sort_by(|a, b| {
            b.flagged()
                .cmp(&a.flagged())
                .then_with(|| a.caller.cmp(&b.caller))
        });
        Report {
            format: FORMAT,
            v1_callers: callers.iter().filter(|caller| caller.flagged()).count(),
            callers,
            missed: self.missed,
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::broker::readiness::report::*;
    use crate::broker::record::ImdsVersion;
    use crate::broker::responses::TOKEN_HEADER;

    fn record(
        container: Option<&str>,
        ip: &str,
        path: &str,
        version: ImdsVersion,
        token: bool,
        agent: &str,
        time: &str,
    ) -> ExchangeRecord {
        let mut headers = vec![("user-agent".to_string(), agent.to_string())];
        if token {
            headers.push((TOKEN_HEADER.to_string(), "****abcd".to_string()));
        }
        ExchangeRecord {
            time: time.to_string(),
            caller_ip: Some(ip.parse().unwrap()),
            caller_container: container.map(str::to_string),
            path: path.to_string(),
            version,
            request_headers: headers.into(),
            ..ExchangeRecord::sample(1)
        }
    }

    const BOTO: &str = "Boto3/1.44.8 Python/3.11.7 Linux/6.18 Botocore/1.44.8";
    const CREDS: &str = "/latest/meta-data/iam/security-credentials/";

    #[test]
    fn one_v1_caller_is_flagged_v2_and_tokens_are_counted() {
        let mut tally = Tally::new();
        let t = |s: u32| format!("2026-12-01T10:00:{s:02}.000Z");
        tally.note_record(&record(
            Some("legacy"),
            "172.30.0.5",
            CREDS,
            ImdsVersion::V1,
            false,
            BOTO,
            &t(3),
        ));
        tally.note_record(&record(
            Some("legacy"),
            "172.30.0.5",
            CREDS,
            ImdsVersion::V1,
            false,
            BOTO,
            &t(1),
        ));
        tally.note_record(&record(
            Some("legacy"),
            "172.30.0.5",
            "/latest/meta-data/placement/region",
            ImdsVersion::V1,
            false,
            "curl/8.5.0",
            &t(2),
        ));
        tally.note_record(&record(
            Some("modern"),
            "172.30.0.6",
            "/latest/api/token",
            ImdsVersion::TokenRequest,
            false,
            BOTO,
            &t(4),
        ));
        tally.note_record(&record(
            Some("modern"),
            "172.30.0.6",
            CREDS,
            ImdsVersion::V2,
            true,
            BOTO,
            &t(5),
        ));
        // Answered before the token was checked (IMDS disabled): still v2, from its header.
        tally.note_record(&record(
            Some("modern"),
            "172.30.0.6",
            CREDS,
            ImdsVersion::V1,
            true,
            BOTO,
            &t(6),
        ));
        // Refused before any caller was known: not a caller.
        tally.note_record(&ExchangeRecord {
            caller_ip: None,
            ..ExchangeRecord::sample(9)
        });

        let report = tally.report();
        assert_eq!(report.v1_callers, 1);
        assert_eq!(report.callers.len(), 2);
        let legacy = &report.callers[0];
        assert_eq!(legacy.caller, "legacy");
        assert!(legacy.flagged());
        assert_eq!(
            legacy.counts,
            Counts {
                v1_requests: 3,
                v2_requests: 0,
                token_requests: 0
            }
        );
        assert_eq!(legacy.first_seen, t(1));
        assert_eq!(legacy.last_seen, t(3));
        assert_eq!(legacy.v1_last_seen.as_deref(), Some(t(3).as_str()));
        assert_eq!(
            legacy.v1_paths[0],
            PathCount {
                path: CREDS.into(),
                requests: 2
            }
        );
        assert_eq!(legacy.agents[0].label(), "boto3 1.44.8");
        assert_eq!(legacy.agents[1].label(), "curl 8.5.0");
        let modern = &report.callers[1];
        assert!(!modern.flagged());
        assert_eq!(
            modern.counts,
            Counts {
                v1_requests: 0,
                v2_requests: 2,
                token_requests: 1
            }
        );
        assert!(modern.v1_paths.is_empty());
        assert_eq!(modern.v1_first_seen, None);
        assert_eq!(modern.address, Some("172.30.0.6".parse().unwrap()));
    }

    #[test]
    fn callers_without_a_container_go_by_address() {
        let mut tally = Tally::new();
        tally.note_record(&record(
            None,
            "127.0.0.1",
            CREDS,
            ImdsVersion::V1,
            false,
            "",
            "t",
        ));
        let report = tally.report();
        assert_eq!(report.callers[0].caller, "127.0.0.1");
        assert_eq!(report.callers[0].container, None);
        assert_eq!(report.callers[0].agents[0].label(), "(none)");
    }

    #[test]
    fn lists_are_bounded_and_count_the_rest() {
        let mut tally = Tally::new();
        for n in 0..40 {
            let agent = format!("tool-{n}");
            let path = format!("/latest/meta-data/p{n}");
            tally.note_record(&record(
                Some("busy"),
                "10.0.0.1",
                &path,
                ImdsVersion::V1,
                false,
                &agent,
                "t",
            ));
        }
        let busy = &tally.report().callers[0];
        assert_eq!(busy.v1_paths.len(), MAX_PATHS);
        assert_eq!(busy.v1_paths_unlisted, 40 - MAX_PATHS as u64);
        assert_eq!(busy.agents.len(), MAX_AGENTS);
        assert_eq!(busy.agents_unlisted, 40 - MAX_AGENTS as u64);
        assert_eq!(busy.counts.v1_requests, 40);
    }

    #[test]
    fn reports_of_two_runs_merge_and_survive_json() {
        let mut first = Tally::new();
        first.note_record(&record(
            Some("app"),
            "10.0.0.1",
            CREDS,
            ImdsVersion::V1,
            false,
            BOTO,
            "2026-12-01T10:00:05.000Z",
        ));
        let mut second = Tally::new();
        second.note_record(&record(
            Some("app"),
            "10.0.0.2",
            CREDS,
            ImdsVersion::V1,
            false,
            BOTO,
            "2026-12-01T10:00:01.000Z",
        ));
        second.note_record(&record(
            Some("other"),
            "10.0.0.3",
            CREDS,
            ImdsVersion::V2,
            true,
            BOTO,
            "2026-12-01T10:00:02.000Z",
        ));
        second.note_missed(2);
        let text = serde_json::to_string(&second.report()).unwrap();
        let parsed: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, second.report());

        first.absorb(parsed);
        let merged = first.report();
        assert_eq!(merged.missed, 2);
        assert_eq!(merged.v1_callers, 1);
        let app = &merged.callers[0];
        assert_eq!(app.counts.v1_requests, 2);
        assert_eq!(app.first_seen, "2026-12-01T10:00:01.000Z");
        assert_eq!(app.last_seen, "2026-12-01T10:00:05.000Z");
        assert_eq!(
            app.address,
            Some("10.0.0.1".parse().unwrap()),
            "the latest address"
        );
        assert_eq!(
            app.v1_paths,
            vec![PathCount {
                path: CREDS.into(),
                requests: 2
            }]
        );
        assert_eq!(app.agents.len(), 1);
        assert_eq!(app.agents[0].counts.v1_requests, 2);
    }

    #[test]
    fn unknown_and_missing_agents_survive_json_and_long_ones_are_cut() {
        let mut tally = Tally::new();
        let long = format!("my-tool {}", "x".repeat(300));
        for _ in 0..2 {
            tally.note_record(&record(
                Some("a"),
                "10.0.0.1",
                CREDS,
                ImdsVersion::V1,
                false,
                &long,
                "t",
            ));
        }
        tally.note_record(&ExchangeRecord {
            caller_ip: Some("10.0.0.1".parse().unwrap()),
            caller_container: Some("a".into()),
            ..ExchangeRecord::sample(3)
        });
        let report = tally.report();
        let agents = &report.callers[0].agents;
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].counts.v1_requests, 2);
        assert_eq!(agents[0].agent.sdk, None);
        assert_eq!(
            agents[0].user_agent.as_ref().map(|raw| raw.chars().count()),
            Some(RAW_KEPT)
        );
        assert_eq!(agents[0].label(), format!("my-tool {}…", "x".repeat(32)));
        assert_eq!(agents[1].user_agent, None);
        assert_eq!(agents[1].label(), "(none)");
        let text = serde_json::to_string(&report).unwrap();
        assert!(text.contains("\"sdk\":null"), "{text}");
        assert_eq!(serde_json::from_str::<Report>(&text).unwrap(), report);
    }

    #[test]
    fn the_json_shape_is_stable() {
        let mut tally = Tally::new();
        tally.note_record(&record(
            Some("app"),
            "10.0.0.1",
            CREDS,
            ImdsVersion::V1,
            false,
            "curl/8.5.0",
            "2026-12-01T10:00:05.000Z",
        ));
        let value = serde_json::to_value(tally.report()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "format": 1,
                "v1_callers": 1,
                "missed": 0,
                "callers": [{
                    "caller": "app",
                    "container": "app",
                    "address": "10.0.0.1",
                    "v1_requests": 1,
                    "v2_requests": 0,
                    "token_requests": 0,
                    "first_seen": "2026-12-01T10:00:05.000Z",
                    "last_seen": "2026-12-01T10:00:05.000Z",
                    "v1_first_seen": "2026-12-01T10:00:05.000Z",
                    "v1_last_seen": "2026-12-01T10:00:05.000Z",
                    "v1_paths": [{"path": CREDS, "requests": 1}],
                    "v1_paths_unlisted": 0,
                    "agents": [{
                        "sdk": "curl",
                        "version": "8.5.0",
                        "user_agent": "curl/8.5.0",
                        "v1_requests": 1,
                        "v2_requests": 0,
                        "token_requests": 0
                    }],
                    "agents_unlisted": 0
                }]
            })
        );
    }
}
