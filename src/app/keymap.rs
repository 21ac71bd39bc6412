//! Every key the dashboard knows, in one table: the help screen and the footer are
//! generated from it, so they cannot drift from what the keys actually do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Part, Tab};

/// Where a binding applies. Modal contexts (input, confirm, help) shadow everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Requests,
    Detail,
    /// The identity list of the identity and credentials panes, while it has the focus.
    IdentityList,
    IdentityFields,
    Identity,
    CredentialsFields,
    Credentials,
    Settings,
    Events,
    Containers,
    /// The identity picker the containers pane opens for one container.
    IdentityPicker,
    /// The containers pane's IMDSv2 readiness view.
    Readiness,
    /// The credentials pane's source menu.
    SourceMenu,
    /// One container's view (Enter in the containers pane).
    ContainerView,
    Logs,
    Input,
    Confirm,
    Help,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Requests => "Requests",
            Context::Detail => "Request detail",
            Context::IdentityList => "Identity list (identity and credentials panes)",
            Context::IdentityFields => "Identity fields",
            Context::Identity => "Identity (list or fields)",
            Context::CredentialsFields => "Credentials fields",
            Context::Credentials => "Credentials (list or fields)",
            Context::Settings => "Settings",
            Context::Events => "Events",
            Context::Containers => "Containers",
            Context::IdentityPicker => "Identity picker (containers pane)",
            Context::Readiness => "IMDSv2 readiness (containers pane)",
            Context::SourceMenu => "Source menu (credentials pane)",
            Context::ContainerView => "One container (Enter in the containers pane)",
            Context::Logs => "Logs",
            Context::Input => "Editing a value",
            Context::Confirm => "Confirmation",
            Context::Help => "Help",
        }
    }

    /// Contexts listed in the help screen, in order.
    pub const HELP_ORDER: [Context; 19] = [
        Context::Global,
        Context::Requests,
        Context::Detail,
        Context::IdentityList,
        Context::IdentityFields,
        Context::Identity,
        Context::CredentialsFields,
        Context::Credentials,
        Context::SourceMenu,
        Context::Settings,
        Context::Events,
        Context::Containers,
        Context::ContainerView,
        Context::IdentityPicker,
        Context::Readiness,
        Context::Logs,
        Context::Input,
        Context::Confirm,
        Context::Help,
    ];
}

/// A key with its modifiers; Shift is implied by upper-case characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

const fn plain(code: KeyCode) -> Key {
    Key {
        code,
        modifiers: KeyModifiers::NONE,
    }
}

const fn ch(c: char) -> Key {
    plain(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        modifiers: KeyModifiers::CONTROL,
    }
}

impl Key {
    /// The key as a KeyEvent would carry it, with Shift folded into the character.
    pub fn from_event(event: KeyEvent) -> Key {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if !matches!(event.code, KeyCode::Char(_) | KeyCode::BackTab) {
            modifiers |= event.modifiers & KeyModifiers::SHIFT;
        }
        Key {
            code: event.code,
            modifiers,
        }
    }

    pub fn label(self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::BackTab => "S-Tab".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::PageUp => "PgUp".to_string(),
            KeyCode::PageDown => "PgDn".to_string(),
            KeyCode::Home => "Home".to_string(),
            KeyCode::End => "End".to_string(),
            KeyCode::Backspace => "Bksp".to_string(),
            KeyCode::Delete => "Del".to_string(),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{}", base.to_uppercase())
        } else {
            base
        }
    }
}

/// One row of the keymap.
pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    pub action: Action,
    /// Short name for the footer.
    pub label: &'static str,
    /// Sentence for the help screen.
    pub help: &'static str,
    /// Shown in the footer when its context has the focus.
    pub footer: bool,
}

const fn bind(
    context: Context,
    keys: &'static [Key],
    action: Action,
    label: &'static str,
    help: &'static str,
    footer: bool,
) -> Binding {
    Binding {
        context,
        keys,
        action,
        label,
        help,
        footer,
    }
}

use Context as C;
use KeyCode as K;

/// The keymap. Earlier rows win within a context; pane contexts are searched before Global.
#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    bind(C::Global, &[ch('q'), ctrl('c')], Action::Quit, "quit", "Quit: stop the broker and remove the proxy", true),
    bind(C::Global, &[ch('?')], Action::ToggleHelp, "help", "Show or hide this help", true),
    bind(C::Global, &[plain(K::Tab)], Action::NextTab, "next pane", "Next pane", false),
    bind(C::Global, &[plain(K::BackTab)], Action::PreviousTab, "prev pane", "Previous pane", false),
    bind(C::Global, &[ch('1')], Action::GoTab(Tab::Requests), "requests", "Requests pane", false),
    bind(C::Global, &[ch('2')], Action::GoTab(Tab::Identity), "identity", "Identity pane", false),
    bind(C::Global, &[ch('3')], Action::GoTab(Tab::Credentials), "credentials", "Credentials pane", false),
    bind(C::Global, &[ch('4')], Action::GoTab(Tab::Settings), "settings", "Settings pane", false),
    bind(C::Global, &[ch('5')], Action::GoTab(Tab::Events), "events", "Events pane", false),
    bind(C::Global, &[ch('6')], Action::GoTab(Tab::Containers), "containers", "Containers pane", false),
    bind(C::Global, &[ch('7')], Action::GoTab(Tab::Logs), "logs", "Logs pane", false),
    bind(C::Global, &[ch('v')], Action::ToggleReveal, "reveal", "Reveal or mask secrets (keys, tokens)", false),
    bind(C::Global, &[ch('N')], Action::TogglePart(Part::Network), "network", "Start or stop the network (stopping asks first)", false),
    bind(C::Global, &[ch('P')], Action::TogglePart(Part::Proxy), "proxy", "Start or stop the proxy (pulls its image when missing; stopping asks first)", false),
    bind(C::Global, &[ch('B')], Action::TogglePart(Part::Broker), "broker", "Start or stop the broker (stopping asks first)", false),
    bind(C::Global, &[ch('S')], Action::StartAll, "start all", "Start network, proxy and broker", false),
    bind(C::Global, &[ch('X')], Action::StopAll, "stop all", "Stop broker and proxy (asks first)", false),

    bind(C::Requests, &[ch('k'), plain(K::Up)], Action::Up, "", "Newer request", false),
    bind(C::Requests, &[ch('j'), plain(K::Down)], Action::Down, "", "Older request", false),
    bind(C::Requests, &[plain(K::PageUp)], Action::PageUp, "", "A page newer", false),
    bind(C::Requests, &[plain(K::PageDown)], Action::PageDown, "", "A page older", false),
    bind(C::Requests, &[ch('g'), plain(K::Home)], Action::Top, "", "Newest request (follow new ones)", false),
    bind(C::Requests, &[ch('G'), plain(K::End)], Action::Bottom, "", "Oldest request", false),
    bind(C::Requests, &[plain(K::Enter)], Action::ToggleDetail, "detail", "Focus the detail of the selected request", true),
    bind(C::Requests, &[ch('/')], Action::StartFilter, "filter", "Filter as you type: words match path or caller; path: container: status:5xx identity: method:", true),
    bind(C::Requests, &[plain(K::Esc)], Action::Back, "clear filter", "Clear the filter", true),
    bind(C::Requests, &[ch('p'), ch(' ')], Action::TogglePause, "pause", "Pause or resume the live list", true),
    bind(C::Requests, &[ch('c')], Action::ClearExchanges, "clear", "Clear the list", true),
    bind(C::Requests, &[ch('y')], Action::CopyCommand, "copy cmd", "Copy a command that asks the selected request again from the same container (docker exec … curl, a fresh token for IMDSv2); with no requests, the docker run line that makes one", true),
    bind(C::Requests, &[ch('v')], Action::ToggleReveal, "reveal", "Reveal or mask secrets in the detail", true),

    bind(C::Detail, &[ch('k'), plain(K::Up)], Action::Up, "scroll", "Scroll up", true),
    bind(C::Detail, &[ch('j'), plain(K::Down)], Action::Down, "", "Scroll down", false),
    bind(C::Detail, &[plain(K::PageUp)], Action::PageUp, "", "Page up", false),
    bind(C::Detail, &[plain(K::PageDown)], Action::PageDown, "", "Page down", false),
    bind(C::Detail, &[ch('g'), plain(K::Home)], Action::Top, "", "Top of the detail", false),
    bind(C::Detail, &[ch('v')], Action::ToggleReveal, "reveal", "Reveal or mask secrets", true),
    bind(C::Detail, &[ch('y')], Action::CopyCommand, "copy cmd", "Copy a command that asks this request again from the same container", true),
    bind(C::Detail, &[plain(K::Esc), plain(K::Enter)], Action::ToggleDetail, "back", "Back to the list", true),

    bind(C::IdentityList, &[ch('k'), plain(K::Up)], Action::Up, "", "Previous identity", false),
    bind(C::IdentityList, &[ch('j'), plain(K::Down)], Action::Down, "", "Next identity", false),
    bind(C::IdentityList, &[ch('l'), plain(K::Right), plain(K::Enter)], Action::Right, "fields", "Move to the fields of the selected identity", true),

    bind(C::IdentityFields, &[ch('k'), plain(K::Up)], Action::Up, "", "Previous field", false),
    bind(C::IdentityFields, &[ch('j'), plain(K::Down)], Action::Down, "", "Next field", false),
    bind(C::IdentityFields, &[ch('h'), plain(K::Left), plain(K::Esc)], Action::Left, "list", "Back to the identity list", true),
    bind(C::IdentityFields, &[plain(K::Enter), ch('e')], Action::Activate, "edit", "Edit the field", true),

    bind(C::Identity, &[ch('u')], Action::MakeActive, "use", "Use: answer unassigned containers with the selected identity from the next request on", true),
    bind(C::Identity, &[ch('n')], Action::NewIdentity, "new", "Add an identity", true),
    bind(C::Identity, &[ch('D')], Action::DuplicateIdentity, "duplicate", "Duplicate the selected identity", true),
    bind(C::Identity, &[ch('d'), ch('x'), plain(K::Delete)], Action::DeleteIdentity, "delete", "Delete the selected identity (asks first)", true),

    bind(C::CredentialsFields, &[ch('k'), plain(K::Up)], Action::Up, "", "Previous field", false),
    bind(C::CredentialsFields, &[ch('j'), plain(K::Down)], Action::Down, "", "Next field", false),
    bind(C::CredentialsFields, &[ch('h'), plain(K::Left), plain(K::Esc)], Action::Left, "list", "Back to the identity list", true),
    bind(C::CredentialsFields, &[plain(K::Enter), ch('e')], Action::Activate, "edit", "Edit the field (on source: choose from a menu)", true),

    bind(C::Credentials, &[ch('s')], Action::ChooseSource, "source", "Choose the source from a menu: static, profile, command, assume-role (each keeps its fields)", true),
    bind(C::Credentials, &[ch('E')], Action::ExpireNow, "expire now", "Expire now: serve an Expiration in the past (static keys)", true),
    bind(C::Credentials, &[ch('r')], Action::Refresh, "refresh", "Refresh: new fake static keys, or fetch fetched credentials again", true),
    bind(C::Credentials, &[ch('m')], Action::EnterMfa, "mfa code", "Enter the MFA code an assumed role waits for", true),
    bind(C::Credentials, &[ch('v')], Action::ToggleReveal, "reveal", "Reveal or mask the secret and token", true),

    bind(C::SourceMenu, &[ch('k'), plain(K::Up)], Action::Up, "", "Previous source", false),
    bind(C::SourceMenu, &[ch('j'), plain(K::Down)], Action::Down, "", "Next source", false),
    bind(C::SourceMenu, &[plain(K::Enter)], Action::Activate, "choose", "Use this source (the fields of the one left are kept in the file)", true),
    bind(C::SourceMenu, &[plain(K::Esc)], Action::Back, "cancel", "Close the menu, nothing changes", true),

    bind(C::Settings, &[ch('k'), plain(K::Up)], Action::Up, "", "Previous setting", false),
    bind(C::Settings, &[ch('j'), plain(K::Down)], Action::Down, "", "Next setting", false),
    bind(C::Settings, &[plain(K::Enter)], Action::Activate, "toggle/edit", "Toggle the setting or edit its value", true),
    bind(C::Settings, &[ch('+'), ch('l'), plain(K::Right)], Action::Increase, "more", "Increase the value", true),
    bind(C::Settings, &[ch('-'), ch('h'), plain(K::Left)], Action::Decrease, "less", "Decrease the value", true),

    bind(C::Events, &[ch('k'), plain(K::Up)], Action::Up, "", "Previous event", false),
    bind(C::Events, &[ch('j'), plain(K::Down)], Action::Down, "", "Next event", false),
    bind(C::Events, &[plain(K::Enter), ch('t')], Action::Activate, "trigger", "Trigger the event (again: next action or state)", true),
    bind(C::Events, &[ch('d'), ch('x'), plain(K::Delete)], Action::ClearEvent, "clear", "Clear the event", true),

    bind(C::Containers, &[ch('k'), plain(K::Up)], Action::Up, "", "Previous container", false),
    bind(C::Containers, &[ch('j'), plain(K::Down)], Action::Down, "", "Next container", false),
    bind(C::Containers, &[plain(K::Enter)], Action::ToggleDetail, "open", "Open the container: its identity and why, its IMDS version, SDK, token expiry, last requests", true),
    bind(C::Containers, &[ch('a')], Action::Activate, "attach/detach", "Attach the container to our network, or detach it (detaching asks first)", true),
    bind(C::Containers, &[ch('i')], Action::PickIdentity, "identity", "Choose the identity the container plays (saved as a [[container]] rule)", true),
    bind(C::Containers, &[ch('r')], Action::Refresh, "refresh", "Refresh the list", true),
    bind(C::Containers, &[ch('V')], Action::ToggleReadiness, "v1 use", "IMDSv2 readiness: which callers asked without a token (IMDSv1)", true),

    bind(C::ContainerView, &[plain(K::Esc), plain(K::Enter)], Action::Back, "back", "Back to the containers", true),
    bind(C::ContainerView, &[ch('i')], Action::PickIdentity, "identity", "Choose the identity the container plays", true),
    bind(C::ContainerView, &[ch('a')], Action::Activate, "attach/detach", "Attach the container to our network, or detach it (detaching asks first)", true),

    bind(C::Readiness, &[ch('k'), plain(K::Up)], Action::Up, "", "Previous caller", false),
    bind(C::Readiness, &[ch('j'), plain(K::Down)], Action::Down, "", "Next caller", false),
    bind(C::Readiness, &[ch('V'), plain(K::Esc)], Action::ToggleReadiness, "containers", "Back to the containers", true),

    bind(C::IdentityPicker, &[ch('k'), plain(K::Up)], Action::Up, "", "Previous choice", false),
    bind(C::IdentityPicker, &[ch('j'), plain(K::Down)], Action::Down, "", "Next choice", false),
    bind(C::IdentityPicker, &[plain(K::Enter)], Action::Activate, "assign", "Save the choice: the container's next request answers with it", true),
    bind(C::IdentityPicker, &[plain(K::Esc)], Action::Back, "cancel", "Close the picker, nothing changes", true),

    bind(C::Logs, &[plain(K::PageUp), ch('k'), plain(K::Up)], Action::PageUp, "older", "Older log lines", true),
    bind(C::Logs, &[plain(K::PageDown), ch('j'), plain(K::Down)], Action::PageDown, "newer", "Newer log lines", true),
    bind(C::Logs, &[ch('g'), plain(K::Home), plain(K::Esc)], Action::Top, "follow", "Follow new lines", true),

    bind(C::Input, &[plain(K::Enter)], Action::Submit, "save", "Save the value (checked first; the file keeps its comments)", true),
    bind(C::Input, &[plain(K::Esc)], Action::Cancel, "cancel", "Cancel", true),
    bind(C::Input, &[plain(K::Backspace)], Action::InputBackspace, "", "Delete before the cursor", false),
    bind(C::Input, &[plain(K::Delete)], Action::InputDelete, "", "Delete at the cursor", false),
    bind(C::Input, &[plain(K::Left)], Action::InputLeft, "", "Cursor left", false),
    bind(C::Input, &[plain(K::Right)], Action::InputRight, "", "Cursor right", false),
    bind(C::Input, &[plain(K::Home), ctrl('a')], Action::InputHome, "", "Start of the line", false),
    bind(C::Input, &[plain(K::End), ctrl('e')], Action::InputEnd, "", "End of the line", false),
    bind(C::Input, &[ctrl('u')], Action::InputClear, "", "Clear the line", false),
    bind(C::Input, &[ctrl('c')], Action::Quit, "", "Quit", false),

    bind(C::Confirm, &[ch('y')], Action::Confirm, "yes", "Confirm", true),
    bind(C::Confirm, &[ch('n'), plain(K::Esc)], Action::Cancel, "no", "Cancel", true),
    bind(C::Confirm, &[ctrl('c')], Action::Quit, "", "Quit", false),

    bind(C::Help, &[ch('k'), plain(K::Up)], Action::Up, "scroll", "Scroll up", true),
    bind(C::Help, &[ch('j'), plain(K::Down)], Action::Down, "", "Scroll down", false),
    bind(C::Help, &[plain(K::PageUp)], Action::PageUp, "", "Page up", false),
    bind(C::Help, &[plain(K::PageDown)], Action::PageDown, "", "Page down", false),
    bind(C::Help, &[plain(K::Esc), ch('?'), ch('q')], Action::ToggleHelp, "close", "Close the help", true),
    bind(C::Help, &[ctrl('c')], Action::Quit, "", "Quit", false),
];

/// The action a key asks for in these contexts (searched in order), if any.
/// In the input context an unbound printable character is typed.
pub fn action_for(contexts: &[Context], event: KeyEvent) -> Option<Action> {
    let key = Key::from_event(event);
    for context in contexts {
        let found = BINDINGS
            .iter()
            .filter(|binding| binding.context == *context)
            .find(|binding| binding.keys.contains(&key));
        if let Some(binding) = found {
            return Some(binding.action);
        }
        if *context == Context::Input {
            if let KeyCode::Char(c) = key.code {
                if key.modifiers.is_empty() {
                    return Some(Action::InputChar(c));
                }
            }
        }
    }
    None
}

/// The keys of a binding, joined for display ("k/↑").
pub fn keys_label(binding: &Binding) -> String {
    binding
        .keys
        .iter()
        .map(|key| key.label())
        .collect::<Vec<_>>()
        .join("/")
}

/// Footer entries for a context: (keys, label, what the key does).
pub fn footer_entries(context: Context) -> Vec<(String, &'static str, Action)> {
    BINDINGS
        .iter()
        .filter(|binding| binding.context == context && binding.footer)
        .map(|binding| {
            let first = binding
                .keys
                .first()
                .map(|key| key.label())
                .unwrap_or_default();
            // Up on k scrolls both ways with j: the hint names both keys.
            let keys = if binding.action == Action::Up && first == "k" {
                "j/k".to_string()
            } else {
                first
            };
            (keys, binding.label, binding.action)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventKind;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: ratatui::crossterm::event::KeyEventState::NONE,
        }
    }

    #[test]
    fn pane_bindings_shadow_global_ones() {
        let contexts = [Context::Requests, Context::Global];
        assert_eq!(
            action_for(&contexts, key(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            action_for(&contexts, key(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        // Shift arrives with upper-case letters; it must not hide the binding.
        assert_eq!(
            action_for(&contexts, key(KeyCode::Char('N'), KeyModifiers::SHIFT)),
            Some(Action::TogglePart(Part::Network))
        );
    }

    #[test]
    fn input_types_unbound_characters() {
        let contexts = [Context::Input];
        assert_eq!(
            action_for(&contexts, key(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Action::InputChar('q'))
        );
        assert_eq!(
            action_for(&contexts, key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
    }

    /// What a letter means, where several actions are one meaning in different panes
    /// (moving up a row or a page, going right or increasing).
    fn meaning(action: Action) -> Action {
        match action {
            Action::PageUp => Action::Up,
            Action::PageDown => Action::Down,
            Action::Increase => Action::Right,
            Action::Decrease => Action::Left,
            Action::ToggleDetail => Action::Activate,
            // `c` clears the request list, `d`/`x` clear an event: both throw away.
            Action::ClearEvent | Action::DeleteIdentity => Action::ClearExchanges,
            other => other,
        }
    }

    #[test]
    fn a_letter_means_one_thing_in_every_pane() {
        let modal = [Context::Input, Context::Confirm, Context::Help];
        let mut seen: Vec<(Key, Action, Context)> = Vec::new();
        for binding in BINDINGS.iter().filter(|b| !modal.contains(&b.context)) {
            for key in binding.keys {
                if !matches!(key.code, KeyCode::Char(_)) {
                    continue;
                }
                let action = meaning(binding.action);
                if let Some((_, other, context)) =
                    seen.iter().find(|(seen_key, _, _)| seen_key == key)
                {
                    assert_eq!(
                        *other,
                        action,
                        "{} means {:?} in {:?} but {:?} in {:?}",
                        key.label(),
                        other,
                        context,
                        binding.action,
                        binding.context
                    );
                } else {
                    seen.push((*key, action, binding.context));
                }
            }
        }
    }

    #[test]
    fn every_footer_hint_names_a_key_of_its_context() {
        for context in Context::HELP_ORDER {
            for (keys, label, action) in footer_entries(context) {
                assert!(!label.is_empty(), "{context:?}: a hint without a label");
                // "j/k scroll" names two keys; "/" is one.
                let named: Vec<&str> = if keys == "/" {
                    vec!["/"]
                } else {
                    keys.split('/').collect()
                };
                let bound = BINDINGS.iter().any(|binding| {
                    binding.context == context
                        && binding.action == action
                        && binding
                            .keys
                            .iter()
                            .any(|k| named.contains(&k.label().as_str()))
                });
                assert!(
                    bound,
                    "{context:?}: hint {keys} {label} names no key doing it"
                );
            }
        }
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for (index, binding) in BINDINGS.iter().enumerate() {
            for other in &BINDINGS[index + 1..] {
                if other.context != binding.context {
                    continue;
                }
                for key in binding.keys {
                    assert!(
                        !other.keys.contains(key),
                        "{:?} bound twice in {:?}",
                        key,
                        binding.context
                    );
                }
            }
        }
    }
}
