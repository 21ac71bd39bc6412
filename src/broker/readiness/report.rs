//! The readiness report: its rows (one per caller) and their counts, and the bounds that
//! keep it small however long a run is.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::agent::{self, Agent};
use super::seen::{Seen, Use};

/// The version of the report's JSON shape (`imds-spoof report --json`, the report socket).
pub const FORMAT: u32 = 1;
/// Distinct v1 paths listed per caller; requests to further ones are only counted.
pub(super) const MAX_PATHS: usize = 32;
/// Distinct programs listed per caller; further ones are only counted.
pub(super) const MAX_AGENTS: usize = 8;
/// Callers listed; further ones share one row, [`OTHER_CALLERS`]. With the other bounds
/// this keeps a report within a few megabytes however long a run is.
pub(super) const MAX_CALLERS: usize = 1024;
/// The row of the callers beyond [`MAX_CALLERS`].
pub const OTHER_CALLERS: &str = "(other callers)";
/// Raw User-Agents are kept up to this many characters.
pub(super) const RAW_KEPT: usize = 200;

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

    pub(super) fn absorb(&mut self, other: Counts) {
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

    pub(super) fn new(caller: String, container: Option<String>, time: &str) -> CallerReport {
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

    pub(super) fn note(&mut self, seen: &Seen<'_>) {
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

    pub(super) fn absorb(&mut self, other: CallerReport) {
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
    pub(super) fn sort(&mut self) {
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
