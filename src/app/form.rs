//! One-line text input: the value being typed and where the cursor is.

/// What the typed value is for; decides how Enter applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputTarget {
    Filter,
    /// A field of the named identity.
    IdentityField {
        identity: String,
        key: &'static str,
    },
    /// A field of the named identity's role.
    CredentialField {
        identity: String,
        field: CredentialField,
    },
    Setting(SettingRow),
    /// The name of a new identity.
    NewIdentity,
    /// The name of a copy of the named identity.
    DuplicateIdentity {
        from: String,
    },
    /// An MFA code for the device an assumed role waits on.
    MfaCode {
        serial: String,
    },
}

/// Rows of the credentials editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialField {
    RoleName,
    Source,
    AccessKeyId,
    SecretAccessKey,
    SessionToken,
    Expiration,
    Profile,
    Command,
    CommandTimeout,
    /// The role an `assume-role` source assumes.
    RoleArn,
    /// Whose credentials assume it (`from_profile` / `from_identity`), shown, not edited.
    AssumeBase,
    SessionName,
}

impl CredentialField {
    pub fn label(self) -> &'static str {
        match self {
            CredentialField::RoleName => "role name",
            CredentialField::Source => "source",
            CredentialField::AccessKeyId => "access key id",
            CredentialField::SecretAccessKey => "secret access key",
            CredentialField::SessionToken => "session token",
            CredentialField::Expiration => "expiration",
            CredentialField::Profile => "profile",
            CredentialField::Command => "command",
            CredentialField::CommandTimeout => "timeout (ms)",
            CredentialField::RoleArn => "role arn",
            CredentialField::AssumeBase => "assumed with",
            CredentialField::SessionName => "session name",
        }
    }

    /// Values hidden unless the user reveals secrets.
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            CredentialField::SecretAccessKey | CredentialField::SessionToken
        )
    }
}

/// Rows of the settings pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingRow {
    Enabled,
    DisabledBehaviour,
    Tokens,
    HopLimit,
    MaxTokenTtl,
    TagsInMetadata,
    EcsDoor,
    EksDoor,
    /// Which door the fault rows below act on (all, or one).
    FaultDoor,
    Latency,
    ErrorRate,
    ErrorStatus,
    Throttling,
}

impl SettingRow {
    pub const ALL: [SettingRow; 13] = [
        SettingRow::Enabled,
        SettingRow::DisabledBehaviour,
        SettingRow::Tokens,
        SettingRow::HopLimit,
        SettingRow::MaxTokenTtl,
        SettingRow::TagsInMetadata,
        SettingRow::EcsDoor,
        SettingRow::EksDoor,
        SettingRow::FaultDoor,
        SettingRow::Latency,
        SettingRow::ErrorRate,
        SettingRow::ErrorStatus,
        SettingRow::Throttling,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SettingRow::Enabled => "IMDS endpoint",
            SettingRow::DisabledBehaviour => "when off",
            SettingRow::Tokens => "tokens (HttpTokens)",
            SettingRow::HopLimit => "hop limit",
            SettingRow::MaxTokenTtl => "max token TTL (s)",
            SettingRow::TagsInMetadata => "tags in metadata",
            SettingRow::EcsDoor => "ECS door",
            SettingRow::EksDoor => "EKS door",
            SettingRow::FaultDoor => "faults below act on",
            SettingRow::Latency => "injected latency (ms)",
            SettingRow::ErrorRate => "error rate (%)",
            SettingRow::ErrorStatus => "error status",
            SettingRow::Throttling => "throttling, drops (%)",
        }
    }

    /// Rows whose value is typed (the others toggle).
    pub fn is_numeric(self) -> bool {
        !matches!(
            self,
            SettingRow::Enabled
                | SettingRow::DisabledBehaviour
                | SettingRow::Tokens
                | SettingRow::TagsInMetadata
                | SettingRow::EcsDoor
                | SettingRow::EksDoor
                | SettingRow::FaultDoor
        )
    }
}

/// A line being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub target: InputTarget,
    pub prompt: String,
    text: String,
    /// Cursor position in characters.
    cursor: usize,
    /// Why the last Enter was refused; the input stays open to fix it.
    pub error: Option<String>,
    /// Drawn as stars (secrets typed while they are masked).
    pub secret: bool,
}

impl Input {
    pub fn new(target: InputTarget, prompt: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            target,
            prompt: prompt.into(),
            cursor: text.chars().count(),
            text,
            error: None,
            secret: false,
        }
    }

    /// Typed characters are drawn as stars.
    pub fn masked(mut self) -> Self {
        self.secret = true;
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(index, _)| index)
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
        self.error = None;
    }

    pub fn backspace(&mut self) {
        if self.cursor == 0 {
            return;
        }
        self.cursor -= 1;
        let at = self.byte_at(self.cursor);
        self.text.remove(at);
        self.error = None;
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
            self.error = None;
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
        self.error = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_at_the_cursor_with_multibyte_text() {
        let mut input = Input::new(InputTarget::Filter, "filter", "aé");
        input.left();
        input.insert('x');
        assert_eq!(input.text(), "axé");
        input.end();
        input.backspace();
        assert_eq!(input.text(), "ax");
        input.home();
        input.delete();
        assert_eq!(input.text(), "x");
    }
}
