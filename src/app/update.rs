//! Input becomes actions; actions change the state. Nothing here draws. Modal state
//! (input, question, help) is handled here; everything else goes to the focused pane.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::action::{Action, Effect, Part, Tab};
use super::form::InputTarget;
use super::keymap::{action_for, Context};
use super::layout::{areas, screen, tab_at};
use super::panes::{Clicked, Pane};
use super::shared::{Confirm, Shared};
use super::state::{App, Event};

impl App {
    /// The pane behind the current tab.
    pub(crate) fn pane(&self) -> &dyn Pane {
        match self.shared.tab {
            Tab::Requests => &self.requests,
            Tab::Identity => &self.identity,
            Tab::Credentials => &self.credentials,
            Tab::Settings => &self.settings,
            Tab::Events => &self.events,
            Tab::Containers => &self.containers,
            Tab::Logs => &self.logs,
        }
    }

    /// The pane behind the current tab, with the state it may change.
    fn pane_mut(&mut self) -> (&mut dyn Pane, &mut Shared) {
        let pane: &mut dyn Pane = match self.shared.tab {
            Tab::Requests => &mut self.requests,
            Tab::Identity => &mut self.identity,
            Tab::Credentials => &mut self.credentials,
            Tab::Settings => &mut self.settings,
            Tab::Events => &mut self.events,
            Tab::Containers => &mut self.containers,
            Tab::Logs => &mut self.logs,
        };
        (pane, &mut self.shared)
    }

    /// The pane that opened an input for this target.
    fn pane_for(&mut self, target: &InputTarget) -> (&mut dyn Pane, &mut Shared) {
        let pane: &mut dyn Pane = match target {
            InputTarget::Filter => &mut self.requests,
            InputTarget::IdentityField { .. }
            | InputTarget::NewIdentity
            | InputTarget::DuplicateIdentity { .. } => &mut self.identity,
            InputTarget::CredentialField { .. } | InputTarget::MfaCode { .. } => {
                &mut self.credentials
            }
            InputTarget::Setting(_) => &mut self.settings,
        };
        (pane, &mut self.shared)
    }

    /// A footer hint as it is true now: the label for what the key does in this state,
    /// or None when it does nothing now.
    pub fn hint(&self, action: Action, label: &'static str) -> Option<&'static str> {
        let shared = &self.shared;
        match action {
            Action::TogglePause if self.requests.exchanges.is_paused() => Some("resume"),
            Action::ToggleReveal if shared.reveal => Some("mask"),
            _ if self.pane().hint_applies(action, shared) => Some(label),
            _ => None,
        }
    }

    /// The keymap contexts in force, most specific first.
    pub fn contexts(&self) -> Vec<Context> {
        if self.shared.input.is_some() {
            return vec![Context::Input];
        }
        if self.shared.confirm.is_some() {
            return vec![Context::Confirm];
        }
        if self.help.is_open() {
            return self.help.contexts();
        }
        let mut contexts = self.pane().contexts();
        contexts.push(Context::Global);
        contexts
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
            if self.shared.input.is_none() {
                self.shared.message = None;
            }
            self.update(action);
        }
    }

    pub fn update(&mut self, action: Action) {
        if self.shared.input.is_some() {
            self.update_input(action);
            return;
        }
        if self.shared.confirm.is_some() {
            self.update_confirm(action);
            return;
        }
        if self.help.is_open() && action != Action::Quit {
            self.help.update(action, &mut self.shared);
            return;
        }
        let shared = &mut self.shared;
        match action {
            Action::Quit => shared.quit = true,
            Action::ToggleHelp => {
                let contexts = self.contexts();
                self.help.open(contexts);
            }
            Action::NextTab => shared.go_to(shared.tab.next()),
            Action::PreviousTab => shared.go_to(shared.tab.previous()),
            Action::GoTab(tab) => shared.go_to(tab),
            Action::ToggleReveal => {
                shared.reveal = !shared.reveal;
                if shared.reveal {
                    tracing::info!("secrets revealed on screen");
                }
            }
            Action::TogglePart(part) => {
                if shared.part(part).is_running() {
                    shared.confirm = Some(Confirm::StopPart(part));
                } else {
                    shared.change_parts(vec![part], true);
                }
            }
            Action::StartAll => {
                shared.change_parts(vec![Part::Network, Part::Proxy, Part::Broker], true)
            }
            Action::StopAll => shared.confirm = Some(Confirm::StopAll),
            other => {
                let (pane, shared) = self.pane_mut();
                pane.update(other, shared);
            }
        }
    }

    fn update_confirm(&mut self, action: Action) {
        match action {
            Action::Confirm => match self.shared.confirm.take() {
                Some(Confirm::DeleteIdentity(name)) => {
                    self.identity.delete(&mut self.shared, &name);
                }
                Some(Confirm::DetachContainer { id, name }) => {
                    self.shared.inform(format!("detaching {name}…"));
                    self.shared.effects.push(Effect::Detach { id, name });
                }
                Some(Confirm::StopPart(part)) => self.shared.change_parts(vec![part], false),
                Some(Confirm::StopAll) => self
                    .shared
                    .change_parts(vec![Part::Broker, Part::Proxy], false),
                None => {}
            },
            Action::Cancel => self.shared.confirm = None,
            Action::Quit => self.shared.quit = true,
            _ => {}
        }
    }

    fn update_input(&mut self, action: Action) {
        let Some(input) = self.shared.input.as_mut() else {
            return;
        };
        match action {
            Action::InputChar(c) => input.insert(c),
            Action::InputBackspace => input.backspace(),
            Action::InputDelete => input.delete(),
            Action::InputClear => input.clear(),
            Action::InputLeft => input.left(),
            Action::InputRight => input.right(),
            Action::InputHome => input.home(),
            Action::InputEnd => input.end(),
            Action::Cancel => {
                // Esc in the filter clears it: what was typed already applied.
                if input.target == InputTarget::Filter {
                    self.requests.exchanges.set_filter(Default::default());
                }
                self.shared.input = None;
            }
            Action::Quit => self.shared.quit = true,
            Action::Submit => self.submit_input(),
            _ => {}
        }
        if matches!(
            action,
            Action::InputChar(_)
                | Action::InputBackspace
                | Action::InputDelete
                | Action::InputClear
        ) {
            self.check_input();
        }
    }

    /// The typed text changed: the pane says what is wrong with it so far.
    fn check_input(&mut self) {
        let Some(input) = self.shared.input.clone() else {
            return;
        };
        let (pane, shared) = self.pane_for(&input.target);
        let verdict = pane.typed(&input.target, input.text(), shared);
        if let Some(input) = shared.input.as_mut() {
            input.error = verdict.err();
        }
    }

    /// Enter: applies the value; a refused value keeps the input open with the reason.
    fn submit_input(&mut self) {
        let Some(input) = self.shared.input.clone() else {
            return;
        };
        let (pane, shared) = self.pane_for(&input.target);
        match pane.submit(&input.target, input.text(), shared) {
            Ok(()) => shared.input = None,
            Err(error) => {
                if let Some(input) = shared.input.as_mut() {
                    input.error = Some(error);
                }
            }
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent) {
        if self.shared.input.is_some() || self.shared.confirm.is_some() {
            return;
        }
        match mouse.kind {
            MouseEventKind::ScrollUp => self.update(Action::Up),
            MouseEventKind::ScrollDown => self.update(Action::Down),
            MouseEventKind::Down(MouseButton::Left) => {
                if self.help.is_open() {
                    return;
                }
                let screen = areas(screen(self.shared.size));
                if mouse.row == screen.tabs.y {
                    if let Some(tab) = tab_at(mouse.column, self.shared.size.0, self.shared.tab) {
                        self.shared.go_to(tab);
                    }
                } else if mouse.row >= screen.body.y && mouse.row < screen.body.bottom() {
                    let (pane, shared) = self.pane_mut();
                    let clicked = pane.click(mouse.column, mouse.row, screen.body, shared);
                    // A click on the selected row does what Enter does there.
                    if clicked == Clicked::Again {
                        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
                        if let Some(action) = action_for(&self.contexts(), enter) {
                            self.update(action);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
