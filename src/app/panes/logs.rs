//! The log pane: what the process logs through tracing, captured by tui-logger
//! (nothing may print to the terminal while the dashboard owns it).

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::Block;
use ratatui::Frame;
use tui_logger::{TuiLoggerLevelOutput, TuiLoggerWidget, TuiWidgetEvent};

use super::super::action::Action;
use super::super::state::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let widget = TuiLoggerWidget::default()
        .block(
            Block::bordered()
                .title(Span::styled(
                    " Logs ",
                    Style::new().add_modifier(Modifier::BOLD),
                ))
                .border_style(Style::new().fg(Color::Cyan)),
        )
        .output_separator(' ')
        .output_timestamp(Some("%H:%M:%S".to_string()))
        .output_level(Some(TuiLoggerLevelOutput::Abbreviated))
        .output_target(false)
        .output_file(false)
        .output_line(false)
        .style_error(Style::new().fg(Color::Red))
        .style_warn(Style::new().fg(Color::Yellow))
        .style_info(Style::new())
        .style_debug(Style::new().fg(Color::DarkGray))
        .state(&app.log_state);
    frame.render_widget(widget, area);
}

pub fn update(app: &mut App, action: Action) {
    let event = match action {
        Action::PageUp => TuiWidgetEvent::PrevPageKey,
        Action::PageDown => TuiWidgetEvent::NextPageKey,
        Action::Back => TuiWidgetEvent::EscapeKey,
        _ => return,
    };
    app.log_state.transition(event);
}
