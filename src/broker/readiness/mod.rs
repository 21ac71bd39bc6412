//! IMDSv2 readiness: per caller, how many requests came without a token (IMDSv1), to
//! which paths, from which SDKs, first and last seen. Pure: a [`Tally`] is fed exchanges
//! (the broker's records, or the lines of a `--log-requests` file) and gives a [`Report`],
//! the same for the dashboard, `imds-spoof report` and the report socket.
//!
//! A request counts as IMDSv1 when it carries no `X-aws-ec2-metadata-token` and is no token
//! request, whatever it was answered (with `tokens = "required"` it is refused, and that is
//! the code to find). Requests refused before a caller was known (foreign Host, no proxy
//! secret) name no caller and are not counted.

pub mod agent;
mod log_file;

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::record::{ExchangeRecord, ImdsVersion};
use super::responses::TOKEN_HEADER;
pub use agent::Agent;
pub use log_file::{read_log_file, LogFileError};

/// The version of the report's JSON shape (`imds-spoof report --json`, the report socket).
pub const FORMAT: u32 = 1;
/// Distinct v1 paths listed per caller; requests to further ones are only counted.
const MAX_PATHS: usize = 32;
/// Distinct programs listed per caller; further ones are only counted.
const MAX_AGENTS: usize = 8;
/// Callers listed; further ones share one row, [`OTHER_CALLERS`]. With the other bounds
/// this keeps a report within a few megabytes however long a run is.
const MAX_CALLERS: usize = 1024;
/// The row of the callers beyond [`MAX_CALLERS`].
pub const OTHER_CALLERS: &str = "(other callers)";
/// Raw User-Agents are kept up to this many characters.
const RAW_KEPT: usize = 200;

/// How a request spoke to IMDS, as readiness counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    V1,
    V2,
    Token,
}

impl Use {
    /// A token request stays one; any other request is v2 exactly when it carries a token
    /// (the recorded version says v1 for answers given before the token was looked at).
    pub fn of(version: ImdsVersion, carries_token: bool) -> Use {
        match version {
            ImdsVersion::TokenRequest => Use::Token,
            _ if carries_token => Use::V2,
            _ => Use::V1,
        }
    }
}

/// Requests of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub v1_requests: u64,
    pub v2_requests: u64,
    pub token_requests: u64,
}

impl Counts {
    fn add(&mut self, kind: Use, n: u64) {
        match kind {
            Use::V1 => self.v1_requests += n,
            Use::V2 => self.v2_requests += n,
            Use::Token => self.token_requests += n,
        }
    }

    fn absorb(&mut self, other: Counts) {
        self.v1_requests += other.v1_requests;
        self.v2_requests += other.v2_requests;
        self.token_requests += other.token_requests;
    }
}

/// A v1 path and how often it was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathCount {
    pub path: String,
    pub requests: u64,
}

/// One program a caller used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentUse {
    #[serde(flatten)]
    pub agent: Agent,
    /// The User-Agent as sent (its first 200 characters); None when none was sent.
    pub user_agent: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
}

impl AgentUse {
    /// `boto3 1.34.0`, the raw User-Agent cut for an unknown program, or `(none)`.
    pub fn label(&self) -> String {
        match (&self.agent.sdk, &self.agent.version, &self.user_agent) {
            (Some(sdk), Some(version), _) => format!("{sdk} {version}"),
            (Some(sdk), None, _) => sdk.clone(),
            (None, _, Some(raw)) if !raw.is_empty() => agent::shown_raw(raw),
            _ => "(none)".to_string(),
        }
    }
}

/// One caller: a container (by name) or, for callers that are none, an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerReport {
    /// The container's name, else the caller's address.
    pub caller: String,
    pub container: Option<String>,
    /// The address it called from last.
    pub address: Option<IpAddr>,
    #[serde(flatten)]
    pub counts: Counts,
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC), of any request.
    pub first_seen: String,
    pub last_seen: String,
    /// Of its v1 requests; None without any.
    pub v1_first_seen: Option<String>,
    pub v1_last_seen: Option<String>,
    /// The paths it asked without a token, most asked first.
    pub v1_paths: Vec<PathCount>,
    /// v1 requests to paths beyond the 32 listed.
    pub v1_paths_unlisted: u64,
    /// The programs it called with (from User-Agent), v1 users first.
    pub agents: Vec<AgentUse>,
    /// Requests from programs beyond the 8 listed.
    pub agents_unlisted: u64,
}

impl CallerReport {
    /// A caller that used IMDSv1: what the report flags.
    pub fn flagged(&self) -> bool {
        self.counts.v1_requests > 0
    }

    fn new(caller: String, container: Option<String>, time: &str) -> CallerReport {
        CallerReport {
            caller,
            container,
            address: None,
            counts: Counts::default(),
            first_seen: time.to_string(),
            last_seen: time.to_string(),
            v1_first_seen: None,
            v1_last_seen: None,
            v1_paths: Vec::new(),
            v1_paths_unlisted: 0,
            agents: Vec::new(),
            agents_unlisted: 0,
        }
    }

    fn note(&mut self, seen: &Seen<'_>) {
        self.counts.add(seen.kind, 1);
        if seen.caller_ip.is_some() {
            self.address = seen.caller_ip;
        }
        widen(&mut self.first_seen, &mut self.last_seen, seen.time);
        if seen.kind == Use::V1 {
            widen_option(&mut self.v1_first_seen, &mut self.v1_last_seen, seen.time);
            self.add_path(seen.path, 1);
        }
        let raw = seen.user_agent.map(kept);
        // The same User-Agent again (nearly always): no need to parse it.
        if let Some(known) = self
            .agents
            .iter_mut()
            .find(|known| known.user_agent.as_deref() == raw)
        {
            known.counts.add(seen.kind, 1);
            return;
        }
        let mut counts = Counts::default();
        counts.add(seen.kind, 1);
        self.add_agent(AgentUse {
            agent: raw.map_or(
                Agent {
                    sdk: None,
                    version: None,
                },
                agent::parse,
            ),
            user_agent: raw.map(str::to_string),
            counts,
        });
    }

    fn add_path(&mut self, path: &str, requests: u64) {
        if let Some(known) = self.v1_paths.iter_mut().find(|known| known.path == path) {
            known.requests += requests;
        } else if self.v1_paths.len() < MAX_PATHS {
            self.v1_paths.push(PathCount {
                path: path.to_string(),
                requests,
            });
        } else {
            self.v1_paths_unlisted += requests;
        }
    }

    /// Programs are told apart by name and version; an unknown one by its User-Agent.
    fn add_agent(&mut self, added: AgentUse) {
        let same = |known: &AgentUse| match added.agent.sdk {
            Some(_) => known.agent == added.agent,
            None => known.agent.sdk.is_none() && known.user_agent == added.user_agent,
        };
        if let Some(known) = self.agents.iter_mut().find(|known| same(known)) {
            known.counts.absorb(added.counts);
        } else if self.agents.len() < MAX_AGENTS {
            self.agents.push(added);
        } else {
            let counts = added.counts;
            self.agents_unlisted += counts.v1_requests + counts.v2_requests + counts.token_requests;
        }
    }

    fn absorb(&mut self, other: CallerReport) {
        self.counts.absorb(other.counts);
        if other.last_seen >= self.last_seen {
            self.address = other.address.or(self.address);
        }
        widen(&mut self.first_seen, &mut self.last_seen, &other.first_seen);
        widen(&mut self.first_seen, &mut self.last_seen, &other.last_seen);
        for time in [&other.v1_first_seen, &other.v1_last_seen]
            .into_iter()
            .flatten()
        {
            widen_option(&mut self.v1_first_seen, &mut self.v1_last_seen, time);
        }
        for path in other.v1_paths {
            self.add_path(&path.path, path.requests);
        }
        self.v1_paths_unlisted += other.v1_paths_unlisted;
        for agent in other.agents {
            self.add_agent(agent);
        }
        self.agents_unlisted += other.agents_unlisted;
    }

    /// Most asked paths first; programs that used v1 first, then the busiest.
    fn sort(&mut self) {
        self.v1_paths.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then_with(|| a.path.cmp(&b.path))
        });
        self.agents.sort_by(|a, b| {
            b.counts
                .v1_requests
                .cmp(&a.counts.v1_requests)
                .then_with(|| total(&b.counts).cmp(&total(&a.counts)))
                .then_with(|| a.label().cmp(&b.label()))
        });
    }
}

/// `ip` as text in `buffer`, without an allocation (None if it does not fit, never for
/// an address).
fn ip_str(ip: IpAddr, buffer: &mut [u8; 64]) -> Option<&str> {
    let len = match ip {
        // Digit by digit: the formatting machinery cost more than the rest of the tally.
        IpAddr::V4(ip) => {
            let mut len = 0;
            for (n, octet) in ip.octets().into_iter().enumerate() {
                if n > 0 {
                    buffer[len] = b'.';
                    len += 1;
                }
                let digits = [octet / 100, octet / 10 % 10, octet % 10];
                let skip = if octet >= 100 {
                    0
                } else if octet >= 10 {
                    1
                } else {
                    2
                };
                for digit in &digits[skip..] {
                    buffer[len] = b'0' + digit;
                    len += 1;
                }
            }
            len
        }
        IpAddr::V6(ip) => {
            use std::io::Write;
            let mut cursor = std::io::Cursor::new(&mut buffer[..]);
            write!(cursor, "{ip}").ok()?;
            usize::try_from(cursor.position()).ok()?
        }
    };
    std::str::from_utf8(&buffer[..len]).ok()
}

/// The part of a User-Agent that is kept: its first [`RAW_KEPT`] characters.
fn kept(raw: &str) -> &str {
    // No more characters than bytes: a short one is kept whole without counting.
    if raw.len() <= RAW_KEPT {
        return raw;
    }
    match raw.char_indices().nth(RAW_KEPT) {
        Some((end, _)) => &raw[..end],
        None => raw,
    }
}

fn total(counts: &Counts) -> u64 {
    counts.v1_requests + counts.v2_requests + counts.token_requests
}

/// Timestamps of one fixed format compare as text.
fn widen(first: &mut String, last: &mut String, time: &str) {
    // In place: the stamps have one length, so the strings keep their allocations.
    if time < first.as_str() {
        first.clear();
        first.push_str(time);
    }
    if time > last.as_str() {
        last.clear();
        last.push_str(time);
    }
}

fn widen_option(first: &mut Option<String>, last: &mut Option<String>, time: &str) {
    let first = first.get_or_insert_with(|| time.to_string());
    let last = last.get_or_insert_with(|| time.to_string());
    widen(first, last, time);
}

/// The readiness of every caller seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// [`FORMAT`]: changes only when a field changes meaning or goes away.
    pub format: u32,
    /// Callers that used IMDSv1 (the rows flagged).
    pub v1_callers: usize,
    /// Flagged callers first, then by name.
    pub callers: Vec<CallerReport>,
    /// Exchanges the tally could not see (the broker's stream ran ahead of it); a report
    /// that missed some may miss a v1 caller.
    pub missed: u64,
}

impl Report {
    /// True when some caller used IMDSv1.
    pub fn any_v1(&self) -> bool {
        self.v1_callers > 0
    }
}

/// What readiness needs of one exchange.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub time: &'a str,
    pub caller_ip: Option<IpAddr>,
    pub container: Option<&'a str>,
    pub path: &'a str,
    pub kind: Use,
    pub user_agent: Option<&'a str>,
}

impl<'a> Seen<'a> {
    /// The readiness facts of a broker record, read through its public fields.
    pub fn of_record(record: &'a ExchangeRecord) -> Seen<'a> {
        // One pass for both headers: this runs for every exchange.
        let (token, user_agent) = record.request_headers.find_two(TOKEN_HEADER, "user-agent");
        let token = token.is_some();
        Seen {
            time: &record.time,
            caller_ip: record.caller_ip,
            container: record.caller_container.as_deref(),
            path: &record.path,
            kind: Use::of(record.version, token),
            user_agent,
        }
    }
}

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
        if record.door == super::doors::Door::Imds {
            self.note(&Seen::of_record(record));
        }
    }

    /// Counts one exchange; one refused before its caller was known is skipped.
    pub fn note(&mut self, seen: &Seen<'_>) {
        // A caller seen before (nearly always) is found without making its key.
        let mut ip_text = [0u8; 64];
        let known: Option<&str> = match (seen.container, seen.caller_ip) {
            (Some(container), _) => Some(container),
            (None, Some(ip)) => ip_str(ip, &mut ip_text),
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

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "10.0.0.9",
            "172.30.100.25",
            "255.255.255.255",
            "fd00:ec2::254",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut buffer = [0u8; 64];
            assert_eq!(ip_str(ip, &mut buffer), Some(ip.to_string().as_str()));
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
        tally.note_record(&record(
            Some("a"),
            "10.0.0.1",
            CREDS,
            ImdsVersion::V1,
            false,
            &long,
            "t",
        ));
        tally.note_record(&record(
            Some("a"),
            "10.0.0.1",
            CREDS,
            ImdsVersion::V1,
            false,
            &long,
            "t",
        ));
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
