//! Input becomes actions; actions change the state. Nothing here draws.

use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};

use super::action::{Action, Effect, Part, Tab};
use super::form::InputTarget;
use super::keymap::{action_for, Context};
use super::panes;
use super::state::{App, Confirm, Event};
use super::ui::areas;

impl App {
    /// The keymap contexts in force, most specific first.
    pub fn contexts(&self) -> Vec<Context> {
        if self.input.is_some() {
            return vec![Context::Input];
        }
        if self.confirm.is_some() {
            return vec![Context::Confirm];
        }
        if self.help_scroll.is_some() {
            return vec![Context::Help];
        }
        let pane = match self.tab {
            Tab::Requests if self.detail_focused => Context::Detail,
            Tab::Requests => Context::Requests,
            Tab::Identity => Context::Identity,
            Tab::Credentials => Context::Credentials,
            Tab::Settings => Context::Settings,
            Tab::Events => Context::Events,
            Tab::Containers => Context::Containers,
            Tab::Logs => Context::Logs,
        };
        vec![pane, Context::Global]
    }

    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Key(key) => self.handle_key(key),
            Event::Mouse(mouse) => self.handle_mouse(mouse),
            Event::Resize(width, height) => self.set_size(width, height),
            Event::Tick(now) => self.on_tick(now),
            Event::Exchange(record) => self.push_exchange(record),
            Event::Session(update) => self.on_session(update),
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        if let Some(action) = action_for(&self.contexts(), key) {
            // A key press acknowledges the last message.
            if self.input.is_none() {
                self.message = None;
            }
            self.update(action);
        }
    }

    pub fn update(&mut self, action: Action) {
        if self.input.is_some() {
            self.update_input(action);
            return;
        }
        if self.confirm.is_some() {
            self.update_confirm(action);
            return;
        }
        if self.help_scroll.is_some() && action != Action::Quit {
            panes::help::update(self, action);
            return;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.help_scroll = Some(0),
            Action::NextTab => self.tab = self.tab.next(),
            Action::PreviousTab => self.tab = self.tab.previous(),
            Action::GoTab(tab) => self.tab = tab,
            Action::ToggleReveal => {
                self.reveal = !self.reveal;
                if self.reveal {
                    tracing::info!("secrets revealed on screen");
                }
            }
            Action::TogglePart(part) => self.toggle_part(part),
            Action::StartAll => {
                self.inform("starting network, proxy and broker…");
                self.effects.push(Effect::StartAll);
            }
            Action::StopAll => {
                self.inform("stopping broker and proxy…");
                self.effects.push(Effect::StopAll);
            }
            other => self.update_pane(other),
        }
    }

    fn toggle_part(&mut self, part: Part) {
        if self.part(part).is_running() {
            self.inform(format!("stopping the {}…", part.name()));
            self.effects.push(Effect::StopPart(part));
        } else {
            self.inform(format!("starting the {}…", part.name()));
            self.effects.push(Effect::StartPart(part));
        }
    }

    fn update_pane(&mut self, action: Action) {
        match self.tab {
            Tab::Requests if self.detail_focused => panes::detail::update(self, action),
            Tab::Requests => panes::requests::update(self, action),
            Tab::Identity => panes::identity::update(self, action),
            Tab::Credentials => panes::credentials::update(self, action),
            Tab::Settings => panes::settings::update(self, action),
            Tab::Events => panes::events::update(self, action),
            Tab::Containers => panes::containers::update(self, action),
            Tab::Logs => panes::logs::update(self, action),
        }
    }

    fn update_confirm(&mut self, action: Action) {
        match action {
            Action::Confirm => {
                if let Some(Confirm::DeleteIdentity(name)) = self.confirm.take() {
                    panes::identity::delete(self, &name);
                }
            }
            Action::Cancel => self.confirm = None,
            Action::Quit => self.quit = true,
            _ => {}
        }
    }

    fn update_input(&mut self, action: Action) {
        let Some(input) = self.input.as_mut() else {
            return;
        };
        match action {
            Action::InputChar(c) => input.insert(c),
            Action::InputBackspace => input.backspace(),
            Action::InputDelete => input.delete(),
            Action::InputLeft => input.left(),
            Action::InputRight => input.right(),
            Action::InputHome => input.home(),
            Action::InputEnd => input.end(),
            Action::InputClear => input.clear(),
            Action::Cancel => self.input = None,
            Action::Quit => self.quit = true,
            Action::Submit => self.submit_input(),
            _ => {}
        }
    }

    /// Enter: applies the value; a refused value keeps the input open with the reason.
    fn submit_input(&mut self) {
        let Some(input) = self.input.clone() else {
            return;
        };
        let text = input.text().to_string();
        let result = match &input.target {
            InputTarget::Filter => panes::requests::submit_filter(self, &text),
            InputTarget::IdentityField { identity, key } => {
                panes::identity::submit_field(self, identity, key, &text)
            }
            InputTarget::CredentialField { identity, field } => {
                panes::credentials::submit_field(self, identity, *field, &text)
            }
            InputTarget::Setting(row) => panes::settings::submit(self, *row, &text),
            InputTarget::NewIdentity => panes::identity::submit_new(self, &text),
            InputTarget::DuplicateIdentity { from } => {
                panes::identity::submit_duplicate(self, from, &text)
            }
        };
        match result {
            Ok(()) => self.input = None,
            Err(error) => {
                if let Some(input) = self.input.as_mut() {
                    input.error = Some(error);
                }
            }
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent) {
        if self.input.is_some() || self.confirm.is_some() {
            return;
        }
        match mouse.kind {
            MouseEventKind::ScrollUp => self.update(Action::Up),
            MouseEventKind::ScrollDown => self.update(Action::Down),
            MouseEventKind::Down(MouseButton::Left) => {
                if self.help_scroll.is_some() {
                    return;
                }
                let screen = areas(self.screen());
                if mouse.row == screen.tabs.y {
                    if let Some(tab) = self.tab_at(mouse.column) {
                        self.tab = tab;
                    }
                } else if self.tab == Tab::Requests {
                    panes::requests::click(self, mouse.column, mouse.row, screen.body);
                }
            }
            _ => {}
        }
    }
}
