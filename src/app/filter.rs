//! The request table's filter: `word` matches path, caller or container;
//! `path:`, `container:`, `identity:`, `method:` and `status:` narrow one column.

use crate::broker::ExchangeRecord;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Anywhere(String),
    Path(String),
    Container(String),
    Identity(String),
    Method(String),
    Status(StatusMatch),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusMatch {
    Exact(u16),
    /// `4xx`: the hundreds digit.
    Class(u16),
}

/// A parsed filter; every term must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    text: String,
    terms: Vec<Term>,
}

impl Filter {
    /// Parses the filter text; a malformed `status:` term is an error to show the user.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut terms = Vec::new();
        for word in text.split_whitespace() {
            let lower = word.to_lowercase();
            let term = match lower.split_once(':') {
                Some(("path", value)) => Term::Path(value.to_string()),
                Some(("container" | "caller", value)) => Term::Container(value.to_string()),
                Some(("identity", value)) => Term::Identity(value.to_string()),
                Some(("method", value)) => Term::Method(value.to_string()),
                Some(("status", value)) => Term::Status(parse_status(value)?),
                _ => Term::Anywhere(lower),
            };
            terms.push(term);
        }
        Ok(Filter {
            text: text.trim().to_string(),
            terms,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, record: &ExchangeRecord) -> bool {
        self.terms.iter().all(|term| term_matches(term, record))
    }
}

fn parse_status(value: &str) -> Result<StatusMatch, String> {
    let bad =
        || format!("status:{value}: use a status like 404, a class like 4xx, or 0 for no answer");
    if let Some(class) = value.strip_suffix("xx") {
        let digit: u16 = class.parse().map_err(|_| bad())?;
        if (1..=5).contains(&digit) {
            return Ok(StatusMatch::Class(digit));
        }
        return Err(bad());
    }
    value.parse().map(StatusMatch::Exact).map_err(|_| bad())
}

fn contains(haystack: &str, needle: &str) -> bool {
    // Needles are lower-cased at parse time; paths and names are mostly lower case already,
    // so the cheap check comes first.
    haystack.contains(needle) || haystack.to_lowercase().contains(needle)
}

fn caller_matches(record: &ExchangeRecord, needle: &str) -> bool {
    record
        .caller_container
        .as_deref()
        .is_some_and(|name| contains(name, needle))
        || record
            .caller_ip
            .is_some_and(|ip| ip.to_string().contains(needle))
}

fn term_matches(term: &Term, record: &ExchangeRecord) -> bool {
    match term {
        Term::Anywhere(needle) => contains(&record.path, needle) || caller_matches(record, needle),
        Term::Path(needle) => contains(&record.path, needle),
        Term::Container(needle) => caller_matches(record, needle),
        Term::Identity(needle) => contains(&record.identity, needle),
        Term::Method(needle) => record.method.eq_ignore_ascii_case(needle),
        Term::Status(StatusMatch::Exact(status)) => record.status == *status,
        Term::Status(StatusMatch::Class(class)) => record.status / 100 == *class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, status: u16, container: Option<&str>) -> ExchangeRecord {
        ExchangeRecord {
            caller_ip: Some("169.254.0.7".parse().unwrap()),
            caller_container: container.map(str::to_string),
            path: path.into(),
            status,
            ..ExchangeRecord::sample(1)
        }
    }

    #[test]
    fn terms_narrow_columns() {
        let web = record("/latest/meta-data/instance-id", 200, Some("Web-1"));
        let failed = record("/latest/meta-data/iam/security-credentials/x", 500, None);
        let filter = Filter::parse("status:5xx").unwrap();
        assert!(!filter.matches(&web));
        assert!(filter.matches(&failed));
        let filter = Filter::parse("container:web instance").unwrap();
        assert!(filter.matches(&web));
        assert!(!filter.matches(&failed));
        assert!(Filter::parse("169.254.0.7").unwrap().matches(&failed));
        assert!(Filter::parse("status:200 method:get")
            .unwrap()
            .matches(&web));
        assert!(Filter::parse("status:abc").is_err());
        assert!(Filter::parse("status:9xx").is_err());
    }
}
