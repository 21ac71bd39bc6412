//! Small widgets several panes draw: the focus marker, the secrets badge, and the
//! geometry helpers behind scrolling lists and pop-ups.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Span;

use super::theme;

/// Marks the row under the cursor of the focused part, readable without colour.
pub const FOCUS_MARKER: &str = "▶ ";
const NO_MARKER: &str = "  ";

/// The style and leading marker of a row: marked when it is selected in the focused part.
pub fn cursor(selected: bool, focused: bool) -> (&'static str, Style) {
    match (selected, focused) {
        (true, true) => (FOCUS_MARKER, theme::selected_style()),
        (true, false) => (NO_MARKER, theme::unfocused_selection()),
        (false, _) => (NO_MARKER, Style::new()),
    }
}

/// Says whether secrets are on screen, in the title of a block that shows them.
pub fn secrets_badge(reveal: bool) -> Span<'static> {
    if reveal {
        Span::styled(
            " SECRETS SHOWN (v masks) ",
            Style::new().fg(Color::Black).bg(Color::Red),
        )
    } else {
        Span::styled(" secrets masked (v reveals) ", theme::dim())
    }
}

/// A list of choices over the middle of `area`, `width` columns wide, in a yellow frame
/// titled `title`: the pickers and menus.
pub fn popup_list(
    frame: &mut ratatui::Frame,
    area: Rect,
    title: String,
    items: Vec<ratatui::widgets::ListItem>,
    width: u16,
) {
    use ratatui::widgets::{Block, Clear, List};
    let popup = centered(area, width, items.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        List::new(items).block(
            Block::bordered()
                .title(Span::styled(title, theme::bold()))
                .border_style(Style::new().fg(Color::Yellow)),
        ),
        popup,
    );
}

/// A rectangle of at most `width` x `height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// Rows `offset..` that keep `selected` visible in `rows` rows.
pub fn window(selected: usize, count: usize, rows: usize) -> std::ops::Range<usize> {
    let rows = rows.max(1);
    let start = if selected >= rows {
        selected + 1 - rows
    } else {
        0
    };
    start..count.min(start + rows)
}

/// What a click in a pane did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clicked {
    /// Not on a row.
    Nothing,
    /// A row is selected now.
    Selected,
    /// The row was selected already: the click opens it (as Enter would).
    Again,
}

/// The index of the list row at screen row `y`, for rows drawn one per line from
/// `first_y`, `offset` rows scrolled past, `count` rows in all.
pub fn row_at(y: u16, first_y: u16, offset: usize, count: usize) -> Option<usize> {
    let index = offset + usize::from(y.checked_sub(first_y)?);
    (index < count).then_some(index)
}

/// Selects `index` in `current`, saying whether it was selected already.
pub fn select(current: &mut usize, index: usize) -> Clicked {
    if *current == index {
        Clicked::Again
    } else {
        *current = index;
        Clicked::Selected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_selection() {
        assert_eq!(window(0, 10, 4), 0..4);
        assert_eq!(window(6, 10, 4), 3..7);
        assert_eq!(window(2, 3, 10), 0..3);
    }

    #[test]
    fn only_the_focused_selection_is_marked() {
        assert_eq!(cursor(true, true).0, FOCUS_MARKER);
        assert_eq!(cursor(true, false).0, NO_MARKER);
        assert_eq!(cursor(false, true).0, NO_MARKER);
    }
}
