//! Styles every pane draws with, so a colour means the same thing everywhere; and the
//! monochrome form of a drawn screen, for `NO_COLOR` and terminals without colour.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

/// Whether the environment asks for no colour: `NO_COLOR` set and not empty
/// (no-color.org), or a terminal that has none (`TERM=dumb`).
pub fn monochrome_wanted() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    no_color || std::env::var("TERM").is_ok_and(|term| term == "dumb")
}

/// Takes the colours out of a drawn screen and keeps what they meant: a cell that stood
/// out by its background (the current tab, a key, a badge, the row being edited)
/// is drawn reversed instead. Reverse, bold and underline stay as they are.
pub fn strip_colours(buffer: &mut Buffer) {
    for cell in buffer.content.iter_mut() {
        let highlighted = !matches!(cell.bg, Color::Reset | Color::Black);
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
        if highlighted {
            cell.modifier.insert(Modifier::REVERSED);
        }
    }
}

/// Labels, hints and anything in the background.
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// The selected row of the part that has the focus.
pub fn selected_style() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// The selected row of a part without the focus: still findable, plainly not the focus.
pub fn unfocused_selection() -> Style {
    Style::new().add_modifier(Modifier::UNDERLINED)
}

/// The row whose value is being typed.
pub fn editing() -> Style {
    Style::new().fg(Color::Black).bg(Color::Yellow)
}

/// Border of a block: cyan when it has the focus.
pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(Color::Cyan)
    } else {
        dim()
    }
}

/// Column headers of tables.
pub fn header() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

/// A key in the footer.
pub fn key() -> Style {
    Style::new().fg(Color::Black).bg(Color::Cyan)
}

/// A value that needs attention (pending event, lowered limit).
pub fn warning() -> Style {
    Style::new().fg(Color::Yellow)
}

pub fn good() -> Style {
    Style::new().fg(Color::Green)
}

pub fn bad() -> Style {
    Style::new().fg(Color::Red)
}

/// Style for an HTTP status: green success, yellow client error, red server error,
/// magenta for no answer at all.
pub fn status_style(status: u16) -> Style {
    match status {
        0 => Style::new().fg(Color::Magenta),
        200..=299 => Style::new().fg(Color::Green),
        300..=399 => Style::new().fg(Color::Cyan),
        400..=499 => Style::new().fg(Color::Yellow),
        _ => Style::new().fg(Color::Red),
    }
}
