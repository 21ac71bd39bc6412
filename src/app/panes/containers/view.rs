//! One container, opened with Enter in the containers pane: the identity it plays and
//! why, and what it has asked lately (IMDS version, SDK, token expiry, last requests).
//! The place to answer "why did my app get that?".

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;
use time::OffsetDateTime;

use crate::app::action::ContainerRow;
use crate::app::format::{self, cut_end, cut_middle, identity_with_origin};
use crate::app::shared::Shared;
use crate::app::theme;
use crate::broker::{ExchangeRecord, ImdsVersion};
use crate::config::IdentityOrigin;
use crate::imds::time::parse_timestamp;

/// Requests kept per container for the view.
const KEPT: usize = 12;
/// Containers whose activity is kept (the oldest seen is forgotten first).
const CONTAINERS_KEPT: usize = 256;

/// What one container has asked.
#[derive(Debug, Default)]
pub struct Activity {
    last: VecDeque<Arc<ExchangeRecord>>,
    v1: u64,
    v2: u64,
    user_agent: Option<String>,
    token_expires: Option<OffsetDateTime>,
    /// Order of first sight, to forget the oldest container first.
    seen: u64,
}

/// Every container's activity, by container name.
#[derive(Debug, Default)]
pub struct ActivityBook {
    by_name: BTreeMap<String, Activity>,
    next_seen: u64,
}

impl ActivityBook {
    pub fn note(&mut self, record: &Arc<ExchangeRecord>) {
        let Some(name) = record.caller_container.as_ref() else {
            return;
        };
        if !self.by_name.contains_key(name) && self.by_name.len() >= CONTAINERS_KEPT {
            let oldest = self
                .by_name
                .iter()
                .min_by_key(|(_, activity)| activity.seen)
                .map(|(name, _)| name.clone());
            if let Some(oldest) = oldest {
                self.by_name.remove(&oldest);
            }
        }
        let seen = self.next_seen;
        let activity = self
            .by_name
            .entry(name.clone())
            .or_insert_with(|| Activity {
                seen,
                ..Activity::default()
            });
        self.next_seen += 1;
        match record.version {
            ImdsVersion::V1 => activity.v1 += 1,
            ImdsVersion::V2 => activity.v2 += 1,
            _ => {}
        }
        let (agent, ttl) = record
            .request_headers
            .find_two("user-agent", "x-aws-ec2-metadata-token-ttl-seconds");
        if let Some(agent) = agent {
            activity.user_agent = Some(agent.to_string());
        }
        if record.version == ImdsVersion::TokenRequest && record.status == 200 {
            let ttl = ttl.and_then(|ttl| ttl.trim().parse::<i64>().ok());
            if let (Some(ttl), Some(at)) = (ttl, parse_timestamp(&record.time)) {
                activity.token_expires = Some(at + time::Duration::seconds(ttl));
            }
        }
        if activity.last.len() == KEPT {
            activity.last.pop_back();
        }
        activity.last.push_front(record.clone());
    }

    pub fn get(&self, name: &str) -> Option<&Activity> {
        self.by_name.get(name)
    }
}

/// Why the container plays its identity, in words that say where to change it.
fn origin_words(origin: IdentityOrigin, container: &ContainerRow) -> String {
    match origin {
        IdentityOrigin::Rule => {
            "a [[container]] rule in the configuration (i changes it)".to_string()
        }
        IdentityOrigin::Label => format!(
            "its label imds-spoof.identity={}",
            container.identity_label.as_deref().unwrap_or_default()
        ),
        _ => "no rule or label: the active identity (Identity pane, u)".to_string(),
    }
}

/// Draws one container's view into `area`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    shared: &Shared,
    container: &ContainerRow,
    activity: Option<&Activity>,
) {
    let config = shared.config();
    let facts = container.facts();
    let (identity, origin) = config.identity_for(&facts);
    let width = usize::from(area.width.saturating_sub(2));
    let label = |text: &str| Span::styled(format!("{text:<18}"), theme::dim());
    let mut lines = vec![
        Line::from(vec![
            label("identity"),
            Span::styled(identity_with_origin(identity, origin), theme::bold()),
        ]),
        Line::from(vec![
            label("because"),
            Span::raw(origin_words(origin, container)),
        ]),
    ];
    if let Some((from, name)) = config.passed_over(&facts) {
        lines.push(Line::from(vec![
            label(""),
            Span::styled(
                format!(
                    "⚠ its {} names identity {name:?}, which does not exist",
                    from.as_str()
                ),
                theme::bad(),
            ),
        ]));
    }
    lines.push(Line::from(vec![
        label("image"),
        Span::raw(cut_end(&container.image, width.saturating_sub(18))),
    ]));
    let network = match container.ip_on_network {
        Some(ip) => format!("{ip} on {}", config.network.name),
        None => format!("not on {} (a attaches it)", config.network.name),
    };
    lines.push(Line::from(vec![
        label("state"),
        Span::raw(format!(
            "{} · {network}",
            if container.running {
                "running"
            } else {
                "stopped"
            }
        )),
    ]));
    lines.push(Line::default());
    let Some(activity) = activity else {
        lines.push(Line::from(Span::styled(
            "No requests from this container yet.",
            theme::dim(),
        )));
        render(frame, area, container, lines);
        return;
    };
    let version = match (activity.v1, activity.v2) {
        (0, 0) => "no IMDS requests".to_string(),
        (0, v2) => format!("IMDSv2 only ({v2} requests with a token)"),
        (v1, 0) => format!("IMDSv1 only ({v1} requests without a token)"),
        (v1, v2) => format!("both: {v2} with a token, {v1} without (IMDSv1)"),
    };
    let version_style = if activity.v1 > 0 {
        theme::warning()
    } else {
        Style::new()
    };
    lines.push(Line::from(vec![
        label("IMDS"),
        Span::styled(version, version_style),
    ]));
    if let Some(agent) = &activity.user_agent {
        lines.push(Line::from(vec![
            label("SDK (user agent)"),
            Span::raw(cut_end(agent, width.saturating_sub(18))),
        ]));
    }
    if let Some(expires) = activity.token_expires {
        let left = (expires - shared.now).whole_minutes();
        let words = if left < 0 {
            format!("expired {} ago", format::minutes_words(-left))
        } else {
            format!("in {}", format::minutes_words(left))
        };
        let stamp = crate::imds::time::format_timestamp(expires);
        lines.push(Line::from(vec![
            label("token expires"),
            Span::raw(format!("{} ({words})", stamp.get(11..19).unwrap_or(&stamp))),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled("Last requests", theme::header())));
    for record in &activity.last {
        let status = if record.status == 0 {
            "---".to_string()
        } else {
            record.status.to_string()
        };
        let head = format!(
            "{} {status} {:<4}{:<6}",
            format::clock(&record.time).get(..8).unwrap_or_default(),
            record.method,
            record.protocol()
        );
        let room = width.saturating_sub(head.chars().count());
        lines.push(Line::from(vec![
            Span::styled(head, theme::status_style(record.status)),
            Span::raw(cut_middle(&record.path, room)),
        ]));
    }
    render(frame, area, container, lines);
}

fn render(frame: &mut Frame, area: Rect, container: &ContainerRow, lines: Vec<Line>) {
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Container {} ", container.name),
            theme::bold(),
        ))
        .border_style(theme::border(true));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
