//! The identity picker: which configured identity one container plays, or no rule
//! at all. The choice is a `[[container]]` rule by name in the configuration file.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::ListItem;
use ratatui::Frame;

use crate::app::edits;
use crate::app::format::identity_with_origin;
use crate::app::shared::Shared;
use crate::app::theme;
use crate::app::widgets::{cursor, popup_list};
use crate::config::{set_container_rule, Config, ContainerFacts, IdentityOrigin};

/// The last row of the picker: remove the container's rule.
const NO_RULE: &str = "no rule: label or active identity";

/// One container's picker: the container, and the row under the cursor (the
/// configured identities in order, then [`NO_RULE`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    facts: ContainerFacts,
    row: usize,
}

impl Picker {
    /// A picker for `facts` (its name set), its cursor on the identity it plays now.
    pub fn new(facts: ContainerFacts, config: &Config) -> Picker {
        let (playing, _) = config.identity_for(&facts);
        let row = config
            .identities
            .iter()
            .position(|identity| identity.name == playing)
            .unwrap_or(0);
        Picker { facts, row }
    }

    fn name(&self) -> &str {
        self.facts.name.as_deref().unwrap_or_default()
    }

    fn rows(config: &Config) -> usize {
        config.identities.len() + 1
    }

    pub fn up(&mut self) {
        self.row = self.row.saturating_sub(1);
    }

    pub fn down(&mut self, config: &Config) {
        self.row = (self.row + 1).min(Self::rows(config) - 1);
    }

    /// Keeps the cursor inside the list when the file lost identities meanwhile.
    pub fn clamp(&mut self, config: &Config) {
        self.row = self.row.min(Self::rows(config) - 1);
    }

    /// Saves the row under the cursor as the container's rule (or removes the rule)
    /// and puts it in force. False when the file refused it: the picker stays open,
    /// the footer says why, the file is as it was.
    pub fn choose(&self, shared: &mut Shared) -> bool {
        let config = shared.config();
        // The identity under the cursor; past the identities (the last row), no rule.
        let chosen = config
            .identities
            .get(self.row)
            .map(|identity| identity.name.clone());
        let container = self.name().to_string();
        let saved = edits::save(&shared.store, |doc| {
            set_container_rule(doc, &container, chosen.as_deref())
        });
        let config = match saved {
            Ok(config) => config,
            Err(err) => {
                shared.complain(format!("the rule for {container} was not saved: {err}"));
                return false;
            }
        };
        let (playing, origin) = config.identity_for(&self.facts);
        let now = identity_with_origin(playing, origin);
        match chosen {
            // Defensive: the rule by name should decide; say so plainly if it does not.
            Some(chosen) if playing != chosen || origin != IdentityOrigin::Rule => {
                shared.complain(format!(
                    "rule saved, but {container} still plays {now}: check its [[container]] rules"
                ));
            }
            Some(_) => shared.inform(format!(
                "{container} plays {now} from its next request (saved in the configuration)"
            )),
            None => shared.inform(format!(
                "{container}'s rule removed: it plays {now} from its next request"
            )),
        }
        true
    }

    /// Draws the picker over the middle of `area`.
    pub fn draw(&self, frame: &mut Frame, area: Rect, config: &Config) {
        let (playing, origin) = config.identity_for(&self.facts);
        // What Enter would choose, should the file have lost identities meanwhile.
        let current = self.row.min(Self::rows(config) - 1);
        let choices = config
            .identities
            .iter()
            .map(|identity| {
                let now =
                    (identity.name == playing).then(|| format!("  ← now ({})", origin.as_str()));
                (Span::raw(identity.name.clone()), now)
            })
            .chain([(Span::styled(NO_RULE, theme::dim()), None)]);
        let items: Vec<ListItem> = choices
            .enumerate()
            .map(|(index, (choice, now))| {
                let (marker, style) = cursor(index == current, true);
                let mut spans = vec![Span::raw(marker), choice];
                spans.extend(now.map(|now| Span::styled(now, theme::dim())));
                ListItem::new(Line::from(spans)).style(style)
            })
            .collect();
        let title = format!(" Identity for {} ", self.name());
        let width = (title.chars().count() as u16 + 4).max(44);
        popup_list(frame, area, title, items, width);
    }
}
