//! Secrets masked where records and logs show them: the IMDSv2 token header, credentials
//! in JSON bodies (also when a body is cut), and the values the log options' masking
//! (`log_options.rs`) hands here.

use super::text::HeaderList;

/// The list with the values of the IMDS token and `authorization` (the ECS and EKS doors'
/// token) masked; the same list when it has neither.
pub(super) fn mask_token_header(headers: &HeaderList) -> HeaderList {
    let is_token = |name: &str| {
        name.eq_ignore_ascii_case(crate::broker::responses::TOKEN_HEADER)
            || name.eq_ignore_ascii_case("authorization")
    };
    if !headers.iter().any(|(name, _)| is_token(name)) {
        return headers.clone();
    }
    headers
        .iter()
        .map(|(name, value)| {
            let value = if is_token(name) {
                mask(value)
            } else {
                value.to_string()
            };
            (name, value)
        })
        .collect()
}

/// `****` plus the last four characters, enough to tell values apart.
pub fn mask(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if secret.chars().count() <= 8 {
        "****".to_string()
    } else {
        format!("****{tail}")
    }
}

/// Keys whose string values are secret in credentials documents (IMDS and
/// credential_process shapes).
const SECRET_KEYS: [&str; 3] = ["\"SecretAccessKey\"", "\"Token\"", "\"SessionToken\""];

/// Masks the values of SecretAccessKey, Token and SessionToken in a credentials document,
/// every occurrence, keeping its layout. The body may be cut (record_body_limit): a value
/// that runs to the end without its closing quote is a cut secret and is hidden whole.
pub fn mask_json_secrets(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    loop {
        let next_key = SECRET_KEYS
            .iter()
            .filter_map(|key| rest.find(key).map(|at| (at, at + key.len())))
            .min();
        let Some((_, after_key)) = next_key else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..after_key]);
        rest = &rest[after_key..];
        let Some(value) = rest
            .trim_start()
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|value| value.strip_prefix('"'))
        else {
            continue;
        };
        // Up to and with the opening quote, as written.
        out.push_str(&rest[..rest.len() - value.len()]);
        match closing_quote(value) {
            Some(end) => {
                out.push_str(&mask(&value[..end]));
                rest = &value[end..];
            }
            None => {
                out.push_str("****");
                return out;
            }
        }
    }
}

/// The byte offset of the quote ending a JSON string's contents, past escapes.
fn closing_quote(contents: &str) -> Option<usize> {
    let mut escaped = false;
    for (at, byte) in contents.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(at),
            _ => {}
        }
    }
    None
}
