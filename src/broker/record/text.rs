//! The text a record keeps of headers and bodies, made cheaply on the request's path:
//! all of a record's headers in one string (one allocation, not two per header), and the
//! body as the answer's own bytes (a reference count, not a copy). Readers (dashboard,
//! request log, tests) see plain `&str`s.

use std::fmt;

use bytes::Bytes;
use serde::ser::{Serialize, SerializeSeq, Serializer};

/// Header values are recorded up to this many characters.
pub const HEADER_VALUE_LIMIT: usize = 256;

/// A list of `(name, value)` headers held as `name:value\n` lines in one string (a name
/// never holds a colon, a value never a line break).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    text: String,
}

impl HeaderList {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
        }
    }

    /// Bytes held for the lines, spare capacity included.
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> usize {
        self.text.capacity()
    }

    /// Adds a header; a value that is not UTF-8 is shown with replacement characters, and
    /// only its first [`HEADER_VALUE_LIMIT`] characters are kept.
    pub fn push_raw(&mut self, name: &str, value: &[u8]) {
        self.text.push_str(name);
        self.text.push(':');
        match std::str::from_utf8(value) {
            // A string never has more characters than bytes: short ones need no count.
            Ok(text) if text.len() <= HEADER_VALUE_LIMIT => self.text.push_str(text),
            // ASCII (tokens, JWTs): one byte per character, so the cut is a slice.
            Ok(text)
                if text.is_ascii() && !text.as_bytes()[..HEADER_VALUE_LIMIT].contains(&b'\n') =>
            {
                self.text.push_str(&text[..HEADER_VALUE_LIMIT])
            }
            Ok(text) => self
                .text
                .extend(text.chars().take(HEADER_VALUE_LIMIT).map(line_safe)),
            Err(_) => self.text.extend(
                String::from_utf8_lossy(value)
                    .chars()
                    .take(HEADER_VALUE_LIMIT)
                    .map(line_safe),
            ),
        }
        self.text.push('\n');
    }

    /// Adds a header as given (tests, masked copies); line breaks in it become spaces.
    pub fn push(&mut self, name: &str, value: &str) {
        self.text.extend(name.chars().map(|c| match c {
            ':' | '\n' => ' ',
            c => c,
        }));
        self.text.push(':');
        self.text.extend(value.chars().map(line_safe));
        self.text.push('\n');
    }

    /// The pairs, found by byte: readers look headers up per record, and the `char`
    /// pattern searchers cost several times more on such short lines.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let text = self.text.as_str();
        let mut at = 0;
        std::iter::from_fn(move || {
            let rest = text.as_bytes().get(at..).filter(|rest| !rest.is_empty())?;
            let end = at + rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let line = &text[at..end];
            at = end + 1;
            // '\n' and ':' are ASCII: the slices fall on character boundaries.
            Some(match line.as_bytes().iter().position(|&b| b == b':') {
                Some(colon) => (&line[..colon], &line[colon + 1..]),
                None => (line, ""),
            })
        })
    }

    /// The values of the first headers named `first` and `second` (any case), in one
    /// pass that looks at a line's name only: the readiness tally asks this of every record.
    pub fn find_two(&self, first: &str, second: &str) -> (Option<&str>, Option<&str>) {
        let text = self.text.as_str();
        let (mut found_first, mut found_second) = (None, None);
        let mut at = 0;
        while at < text.len() && (found_first.is_none() || found_second.is_none()) {
            let end = memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |n| at + n);
            let line = &text[at..end];
            at = end + 1;
            for (name, found) in [(first, &mut found_first), (second, &mut found_second)] {
                if found.is_none() {
                    *found = value_if_named(line, name);
                }
            }
        }
        (found_first, found_second)
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }
}

/// The value of a `name:value` line if its name is `name` (any case).
fn value_if_named<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let bytes = line.as_bytes();
    // The name and ':' are ASCII: the slice falls on a character boundary.
    (bytes.len() > name.len()
        && bytes[name.len()] == b':'
        && bytes[..name.len()].eq_ignore_ascii_case(name.as_bytes()))
    .then(|| &line[name.len() + 1..])
}

fn line_safe(c: char) -> char {
    if c == '\n' {
        ' '
    } else {
        c
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(pairs: I) -> Self {
        let mut list = HeaderList::default();
        for (name, value) in pairs {
            list.push(name.as_ref(), value.as_ref());
        }
        list
    }
}

impl<N: AsRef<str>, V: AsRef<str>> From<Vec<(N, V)>> for HeaderList {
    fn from(pairs: Vec<(N, V)>) -> Self {
        pairs.into_iter().collect()
    }
}

impl fmt::Debug for HeaderList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// As a list of `[name, value]` pairs, the shape the request log always had.
impl Serialize for HeaderList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for pair in self.iter() {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

/// Text shared with the bytes it came from: always valid UTF-8 (checked when made, and
/// replaced by a lossy copy when it was not), readable as `&str`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SharedText {
    bytes: Bytes,
}

impl SharedText {
    /// `bytes` as text: shared when valid UTF-8 (nearly always), else a lossy copy.
    pub fn from_bytes(bytes: Bytes) -> Self {
        if std::str::from_utf8(&bytes).is_ok() {
            Self { bytes }
        } else {
            Self::from(String::from_utf8_lossy(&bytes).into_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        // Checked when made; the fallback is never taken.
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }
}

impl std::ops::Deref for SharedText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for SharedText {
    fn from(text: String) -> Self {
        Self {
            bytes: Bytes::from(text),
        }
    }
}

impl From<&str> for SharedText {
    fn from(text: &str) -> Self {
        Self::from(text.to_string())
    }
}

impl PartialEq<str> for SharedText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedText {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl fmt::Debug for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SharedText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_headers_are_found_by_name_in_any_case() {
        let mut list = HeaderList::default();
        list.push_raw("user-agent-extra", b"not this");
        list.push("User-Agent", "boto3/1.34");
        list.push_raw("x-aws-ec2-metadata-token", b"");
        list.push_raw("user-agent", b"second");
        assert_eq!(
            list.find_two("x-aws-ec2-metadata-token", "user-agent"),
            (Some(""), Some("boto3/1.34"))
        );
        assert_eq!(list.find_two("host", "accept"), (None, None));
        assert_eq!(HeaderList::default().find_two("a", "b"), (None, None));
    }

    #[test]
    fn header_lists_keep_pairs_and_cut_values_by_characters() {
        let mut list = HeaderList::default();
        list.push_raw("host", b"169.254.169.254");
        list.push_raw("x-odd", b"ok\xffok");
        list.push_raw("x-long", "é".repeat(300).as_bytes());
        list.push_raw("x-empty", b"");
        list.push_raw("authorization", "a".repeat(400).as_bytes());
        let pairs: Vec<(&str, &str)> = list.iter().collect();
        assert_eq!(pairs[0], ("host", "169.254.169.254"));
        assert_eq!(pairs[1], ("x-odd", "ok\u{fffd}ok"));
        assert_eq!(pairs[2].1, "é".repeat(256));
        assert_eq!(pairs[3], ("x-empty", ""));
        assert_eq!(pairs[4], ("authorization", "a".repeat(256).as_str()));
        assert_eq!(list.len(), 5);
        // A value holding the separator of the next field stays one value.
        let list: HeaderList = vec![("a", "b:c\nd")].into();
        assert_eq!(list.iter().collect::<Vec<_>>(), vec![("a", "b:c d")]);
        assert_eq!(serde_json::to_string(&list).unwrap(), r#"[["a","b:c d"]]"#);
    }

    #[test]
    fn shared_text_is_always_text() {
        let text = SharedText::from_bytes(Bytes::from_static(b"i-0123"));
        assert_eq!(text, "i-0123");
        let lossy = SharedText::from_bytes(Bytes::from_static(b"ok\xffok"));
        assert_eq!(lossy, "ok\u{fffd}ok");
        assert_eq!(serde_json::to_string(&lossy).unwrap(), "\"ok\u{fffd}ok\"");
        assert!(SharedText::default().is_empty());
    }
}
