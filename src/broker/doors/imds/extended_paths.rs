//! Which paths are `iam/security-credentials-extended/`, and their legacy twins: what the
//! extended rule (`extended.rs`) and IMDS's fault plan (`faults.rs`) both ask of a path.

use std::sync::LazyLock;

use memchr::memmem;

const EXTENDED_SEGMENT: &str = "/security-credentials-extended";
const LEGACY_SEGMENT: &str = "/security-credentials";

/// Is `path` below `meta-data/iam/security-credentials-extended` (its listing included)?
pub fn is_extended_path(path: &str) -> bool {
    extended_at(path).is_some()
}

/// Where the segment starts in a path, found with a prepared searcher: every request to
/// a long path asks (faults, the 404 rule), and the credentials paths are long.
static EXTENDED_FROM_META: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(EXTENDED_FROM_META_TEXT));
const EXTENDED_FROM_META_TEXT: &str = "/meta-data/iam/security-credentials-extended";

fn extended_at(path: &str) -> Option<usize> {
    if path.len() < EXTENDED_FROM_META_TEXT.len() {
        return None;
    }
    let at = EXTENDED_FROM_META.find(path.as_bytes())?;
    let rest = &path[at + EXTENDED_FROM_META_TEXT.len()..];
    (rest.is_empty() || rest.starts_with('/')).then_some(at + "/meta-data/iam".len())
}

/// The legacy twin of an extended path (`…/security-credentials/ROLE` for
/// `…/security-credentials-extended/ROLE`): faults written for the legacy credentials
/// path cover the extended one too, so JS v3 and Java v2 see what botocore sees.
pub fn legacy_twin(path: &str) -> Option<String> {
    let at = extended_at(path)?;
    Some(format!(
        "{}{LEGACY_SEGMENT}{}",
        &path[..at],
        &path[at + EXTENDED_SEGMENT.len()..]
    ))
}
