//! Styles every pane draws with, so a colour means the same thing everywhere.

use ratatui::style::{Color, Modifier, Style};

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
