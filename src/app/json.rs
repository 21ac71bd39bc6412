//! Pretty-printing JSON bodies for the detail pane. serde_json's own printer would
//! sort object keys (no preserve_order here), and key order is part of what the
//! user checks against EC2, so this re-indents the text instead.

/// The body re-indented with two spaces, or None when it is not JSON.
pub fn pretty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(trimmed).ok()?;
    let mut out = String::with_capacity(trimmed.len() + trimmed.len() / 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = trimmed.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                // Empty containers stay on one line.
                while chars.peek().is_some_and(|next| next.is_whitespace()) {
                    chars.next();
                }
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(c);
                    out.push(close);
                } else {
                    depth += 1;
                    out.push(c);
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_strings() {
        let body = "{\"Code\" : \"Success\",\"Type\":\"AWS-HMAC\",\"Note\":\"a, b: {c}\",\"L\":[1,2],\"E\":{}}";
        let expected = "{\n  \"Code\": \"Success\",\n  \"Type\": \"AWS-HMAC\",\n  \"Note\": \"a, b: {c}\",\n  \"L\": [\n    1,\n    2\n  ],\n  \"E\": {}\n}";
        assert_eq!(pretty(body).unwrap(), expected);
    }

    #[test]
    fn refuses_non_json() {
        assert!(pretty("i-0123456789abcdef0").is_none());
        assert!(pretty("{not json").is_none());
        assert!(pretty("ami-id\nhostname").is_none());
    }
}
