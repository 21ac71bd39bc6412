//! Task metadata serves a container's `LogOptions` as the agent does, and a log driver's
//! options can hold a secret (`splunk-token`, a password in a URL). What is served stays
//! whole; records and logs mask those values (`ExchangeRecord::masked`).

use super::mask::mask;

/// Key words of option names whose values are secret.
const SECRET_WORDS: [&str; 7] = [
    "token",
    "password",
    "passwd",
    "secret",
    "key",
    "auth",
    "credential",
];

const LOG_OPTIONS: &str = "\"LogOptions\"";

/// Masks, in every `"LogOptions":{…}` object of a JSON body, the values whose key looks
/// secret, and the password of any URL with one (`https://user:pass@host`). Layout is
/// kept; a body cut inside a secret value hides the rest of it.
pub fn mask_log_options(body: &str) -> String {
    if !body.contains(LOG_OPTIONS) {
        return body.to_string();
    }
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(LOG_OPTIONS) {
        let after_key = at + LOG_OPTIONS.len();
        out.push_str(&rest[..after_key]);
        rest = &rest[after_key..];
        let Some(object) = rest
            .trim_start()
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|value| value.strip_prefix('{'))
        else {
            continue;
        };
        out.push_str(&rest[..rest.len() - object.len()]);
        match mask_object(object, &mut out) {
            Some(consumed) => rest = &object[consumed..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Copies one flat object of string values (after its `{`) into `out`, masked; returns
/// the bytes consumed, or None when the body ends inside it.
fn mask_object(object: &str, out: &mut String) -> Option<usize> {
    let mut at = 0;
    loop {
        let (key, key_end) = match next_string(object, at) {
            Token::String { start, end } => (&object[start..end], end + 1),
            // `}` or anything unexpected: leave the rest as it is.
            Token::Other(end) => {
                out.push_str(&object[at..end]);
                return Some(end);
            }
            Token::Cut => {
                out.push_str(&object[at..]);
                return None;
            }
        };
        out.push_str(&object[at..key_end]);
        at = key_end;
        match next_string(object, at) {
            Token::String { start, end } => {
                out.push_str(&object[at..start]);
                out.push_str(&masked_value(key, &object[start..end]));
                out.push('"');
                at = end + 1;
            }
            Token::Other(end) => {
                out.push_str(&object[at..end]);
                return Some(end);
            }
            Token::Cut => {
                // Cut inside the value: a secret one, or a URL that may have a password
                // past the cut, shows nothing.
                let partial = &object[at..];
                let shown = if looks_secret(key) || partial.contains("://") {
                    "****"
                } else {
                    partial
                };
                out.push_str(shown);
                return None;
            }
        }
    }
}

enum Token {
    /// A string's contents between its quotes.
    String { start: usize, end: usize },
    /// No string before `}` (or something else): where to stop copying.
    Other(usize),
    /// The body ends first.
    Cut,
}

/// The next JSON string from `at`, skipping `:`, `,` and spaces.
fn next_string(text: &str, at: usize) -> Token {
    let bytes = text.as_bytes();
    let mut i = at;
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\n' | b'\r' | b'\t' | b':' | b',') {
        i += 1;
    }
    match bytes.get(i) {
        None => Token::Cut,
        Some(b'"') => {
            let mut escaped = false;
            for (offset, byte) in bytes[i + 1..].iter().enumerate() {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => {
                        return Token::String {
                            start: i + 1,
                            end: i + 1 + offset,
                        }
                    }
                    _ => {}
                }
            }
            Token::Cut
        }
        Some(_) => Token::Other(i),
    }
}

fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| key.contains(word))
}

fn masked_value(key: &str, value: &str) -> String {
    if looks_secret(key) {
        return mask(value);
    }
    // scheme://user:password@host…: the password goes.
    if let Some((scheme, after)) = value.split_once("://") {
        let authority_end = after.find('/').unwrap_or(after.len());
        if let Some(at) = after[..authority_end].rfind('@') {
            if let Some((user, _password)) = after[..at].split_once(':') {
                return format!("{scheme}://{user}:****{}", &after[at..]);
            }
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"DockerId":"abc","LogDriver":"splunk","LogOptions":{"splunk-format":"json","splunk-token":"00000000-aaaa-bbbb-cccc-1234567890ab","splunk-url":"https://splunk:8088","loki-url":"https://123:apikeyvalue@logs.example/loki"},"Name":"web"}"#;

    #[test]
    fn secret_options_are_masked_and_the_rest_kept() {
        let masked = mask_log_options(BODY);
        assert!(!masked.contains("1234567890ab\""), "{masked}");
        assert!(masked.contains(r#""splunk-token":"****90ab""#), "{masked}");
        assert!(masked.contains(r#""splunk-format":"json""#), "{masked}");
        assert!(
            masked.contains(r#""splunk-url":"https://splunk:8088""#),
            "{masked}"
        );
        assert!(
            masked.contains(r#""loki-url":"https://123:****@logs.example/loki""#),
            "{masked}"
        );
        assert!(masked.ends_with(r#","Name":"web"}"#), "{masked}");
        // Every container of a task has its own LogOptions.
        let task = format!(r#"{{"Containers":[{BODY},{BODY}]}}"#);
        assert_eq!(mask_log_options(&task).matches("****90ab").count(), 2);
        // No LogOptions, nothing changes.
        assert_eq!(mask_log_options(r#"{"Token":"x"}"#), r#"{"Token":"x"}"#);
    }

    #[test]
    fn cut_bodies_show_no_secret_at_any_length() {
        let secret = "00000000-aaaa-bbbb-cccc-1234567890ab";
        for cut in 0..=BODY.len() {
            let masked = mask_log_options(&BODY[..cut]);
            for len in 5..=secret.len() {
                for start in 0..=secret.len() - len {
                    let run = &secret[start..start + len];
                    assert!(!masked.contains(run), "cut at {cut}: {masked}");
                }
            }
        }
    }
}
