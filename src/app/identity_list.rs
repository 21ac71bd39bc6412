//! The identity list beside the identity and credentials forms: which of list and
//! form has the keys, moving through the list, drawing it.

use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, List, ListItem};
use ratatui::Frame;

use super::action::Action;
use super::keymap::Context;
use super::layout::list_and_form;
use super::shared::Shared;
use super::theme;
use super::widgets::{cursor, row_at, Clicked};

/// The half of a list-and-form pane that has the keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Focus {
    /// ↑/↓ choose the identity.
    #[default]
    List,
    /// ↑/↓ choose the field.
    Form,
}

impl Focus {
    /// Moves the focus (←/→) or, in the list, the shown identity (↑/↓).
    /// False when the action is the form's to handle.
    pub fn steer(&mut self, action: Action, shared: &mut Shared) -> bool {
        match (*self, action) {
            (_, Action::Left) => *self = Focus::List,
            (_, Action::Right) => *self = Focus::Form,
            (Focus::List, Action::Up) => shared.move_shown_identity(-1),
            (Focus::List, Action::Down) => shared.move_shown_identity(1),
            // Enter on the list opens the form rather than acting on a field unseen.
            (Focus::List, Action::Activate) => *self = Focus::Form,
            _ => return false,
        }
        true
    }

    /// The keymap context of the focused half: the list's, shared by both panes, or
    /// the pane's `form` context.
    pub fn context(self, form: Context) -> Context {
        match self {
            Focus::List => Context::IdentityList,
            Focus::Form => form,
        }
    }
}

/// A click in a list-and-form pane: on the list, selects that identity (and gives the
/// list the focus); on the form, gives it the focus and returns the form's area for
/// the pane to find the row.
pub fn click(
    focus: &mut Focus,
    x: u16,
    y: u16,
    area: Rect,
    shared: &mut Shared,
) -> Result<Clicked, Rect> {
    let [list, form] = list_and_form(area);
    if form.contains(Position::new(x, y)) {
        *focus = Focus::Form;
        return Err(form);
    }
    let count = shared.config().identities.len();
    let Some(index) = row_at(y, list.y + 1, 0, count).filter(|_| y + 1 < list.bottom()) else {
        return Ok(Clicked::Nothing);
    };
    let was_focused = *focus == Focus::List;
    *focus = Focus::List;
    if index == shared.shown_index() && was_focused {
        return Ok(Clicked::Again);
    }
    shared.identity_index = index;
    Ok(Clicked::Selected)
}

/// Draws the list on the left of `area`; the rest, returned, is the pane's form.
pub fn draw_beside(frame: &mut Frame, area: Rect, shared: &Shared, focus: Focus) -> Rect {
    let [list, form] = list_and_form(area);
    draw(frame, list, shared, focus);
    form
}

/// The configured identities: the shown one selected (marked while the list has the
/// focus), the answering one with a dot.
fn draw(frame: &mut Frame, area: Rect, shared: &Shared, focus: Focus) {
    let config = shared.config();
    let shown = shared.shown_index();
    let focused = focus == Focus::List;
    let items: Vec<ListItem> = config
        .identities
        .iter()
        .enumerate()
        .map(|(index, identity)| {
            let active = identity.name == config.active_identity;
            let (marker, selection) = cursor(index == shown, focused);
            let dot = if active { "● " } else { "  " };
            let style = if active { theme::good() } else { Style::new() };
            ListItem::new(Line::from(format!("{marker}{dot}{}", identity.name)))
                .style(style.patch(selection))
        })
        .collect();
    frame.render_widget(
        List::new(items).block(
            Block::bordered()
                .title(" Identities ")
                .border_style(theme::border(focused)),
        ),
        area,
    );
}
