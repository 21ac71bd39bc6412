//! EKS Pod Identity tokens: the JWTs `imds-spoof token` issues and the EKS door verifies.
//!
//! A real pod gets a projected service-account token signed by the cluster; here imds-spoof
//! is the cluster. Tokens are HS256 with a 32-byte key kept beside the configuration
//! (mode 0600), and name a Kubernetes service account (`system:serviceaccount:NS:NAME`,
//! and the `kubernetes.io` claim), which the configuration maps to an identity.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The audience EKS Pod Identity tokens carry.
pub const AUDIENCE: &str = "pods.eks.amazonaws.com";
const ISSUER: &str = "imds-spoof";
/// The key's file, beside the configuration file.
pub const KEY_FILE_NAME: &str = "pod-identity-token.key";
const KEY_LEN: usize = 32;
const SUBJECT_PREFIX: &str = "system:serviceaccount:";

/// A Kubernetes service account, `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
}

impl ServiceAccount {
    /// `namespace/name`, each part non-empty and free of `/` and `:`.
    pub fn parse(text: &str) -> Option<ServiceAccount> {
        let (namespace, name) = text.split_once('/')?;
        let part_ok = |part: &str| !part.is_empty() && !part.contains(['/', ':']);
        (part_ok(namespace) && part_ok(name)).then(|| ServiceAccount {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    fn subject(&self) -> String {
        format!("{SUBJECT_PREFIX}{}:{}", self.namespace, self.name)
    }

    fn from_subject(subject: &str) -> Option<ServiceAccount> {
        let (namespace, name) = subject.strip_prefix(SUBJECT_PREFIX)?.split_once(':')?;
        ServiceAccount::parse(&format!("{namespace}/{name}"))
    }
}

impl std::fmt::Display for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Why a token is refused: the EKS agent answers each with 400 and this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Service account token cannot be empty")]
    Empty,
    #[error("Service account token cannot be parsed: {0}")]
    Malformed(String),
    #[error("Service account token failed basic claim validations: {0}")]
    Claims(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
    /// A string or a list of strings (RFC 7519).
    #[serde(default)]
    aud: serde_json::Value,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(
        rename = "kubernetes.io",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    kubernetes: Option<KubernetesClaims>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KubernetesClaims {
    namespace: String,
    serviceaccount: NamedObject,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct NamedObject {
    name: String,
}

/// The signing key.
#[derive(Clone)]
pub struct PodTokenKey {
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for PodTokenKey {
    // Hand-written so the key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PodTokenKey(****)")
    }
}

impl PodTokenKey {
    /// A key for this process only (tests; a run whose key file cannot be read).
    pub fn generate() -> PodTokenKey {
        let mut key = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        PodTokenKey { key }
    }

    /// The key in `dir`/[`KEY_FILE_NAME`], created (0600) when missing. Two processes
    /// creating it at once agree on one key: the file is never replaced once it exists.
    pub fn load_or_create(dir: &Path) -> std::io::Result<PodTokenKey> {
        let path = dir.join(KEY_FILE_NAME);
        match read_key(&path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
        std::fs::create_dir_all(dir)?;
        let key = PodTokenKey::generate();
        let mut temp = tempfile::Builder::new()
            .prefix(".pod-identity-token.key.")
            .suffix(".tmp")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .tempfile_in(dir)?;
        temp.write_all(STANDARD.encode(key.key).as_bytes())?;
        temp.as_file().sync_all()?;
        match temp.persist_noclobber(&path) {
            Ok(_) => Ok(key),
            // Another process made it first: its key is the key.
            Err(err) if err.error.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path),
            Err(err) => Err(err.error),
        }
    }

    /// A token for `account`, valid from `now` (unix seconds) for `ttl_seconds`.
    pub fn issue(&self, account: &ServiceAccount, now: i64, ttl_seconds: i64) -> String {
        let header = Header {
            alg: "HS256".to_string(),
            typ: Some("JWT".to_string()),
        };
        let claims = Claims {
            iss: ISSUER.to_string(),
            sub: account.subject(),
            aud: serde_json::json!([AUDIENCE]),
            iat: Some(now),
            nbf: Some(now),
            exp: Some(now.saturating_add(ttl_seconds)),
            kubernetes: Some(KubernetesClaims {
                namespace: account.namespace.clone(),
                serviceaccount: NamedObject {
                    name: account.name.clone(),
                },
            }),
        };
        // Plain data: serialising it cannot fail.
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let claims = serde_json::to_vec(&claims).unwrap_or_default();
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = URL_SAFE_NO_PAD.encode(self.mac(signed.as_bytes()).finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    /// The service account a token names, if this key signed it and it is valid at `now`
    /// (unix seconds) for the EKS audience.
    pub fn verify(&self, token: &str, now: i64) -> Result<ServiceAccount, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        // A pod sends the same token on every fetch: its signature is checked once per
        // thread, its times on every use.
        if let Some(known) = verified::lookup(&self.key, token) {
            check_times(known.exp, known.nbf, now)?;
            return known.rest;
        }
        let claims = self.verify_signed(token)?;
        let known = verified::Known {
            exp: claims.exp,
            nbf: claims.nbf,
            rest: check_audience_and_subject(&claims),
        };
        verified::remember(&self.key, token, known.clone());
        check_times(known.exp, known.nbf, now)?;
        known.rest
    }

    /// The token's claims once its form and signature hold (times and audience not yet).
    fn verify_signed(&self, token: &str) -> Result<Claims, TokenError> {
        let malformed = |reason: &str| TokenError::Malformed(reason.to_string());
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("token contains an invalid number of segments"));
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .map_err(|_| malformed("token is malformed: illegal base64 data"))
        };
        let header: Header = serde_json::from_slice(&decode(header)?)
            .map_err(|_| malformed("token is malformed: header is not JSON"))?;
        let claims: Claims = serde_json::from_slice(&decode(payload)?)
            .map_err(|_| malformed("token is malformed: claims are not JSON"))?;
        if header.alg != "HS256" {
            return Err(malformed(
                "token is unverifiable: signing method is not HS256",
            ));
        }
        let signed_len = token.len() - signature.len() - 1;
        self.mac(&token.as_bytes()[..signed_len])
            .verify_slice(&decode(signature)?)
            .map_err(|_| malformed("token signature is invalid"))?;
        Ok(claims)
    }

    fn mac(&self, data: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(data);
        mac
    }
}

/// Tokens whose signature held, per thread: no lock shared by requests, and a handful of
/// entries covers the pods of a developer's machine.
mod verified {
    use std::cell::RefCell;

    use super::{ServiceAccount, TokenError, KEY_LEN};
    use crate::memo::Memo;

    const ENTRIES: usize = 8;

    /// What a signed token says, apart from the clock.
    #[derive(Clone)]
    pub(super) struct Known {
        pub exp: Option<i64>,
        pub nbf: Option<i64>,
        pub rest: Result<ServiceAccount, TokenError>,
    }

    struct Entry {
        key: [u8; KEY_LEN],
        token: Box<str>,
        known: Known,
    }

    thread_local! {
        static ENTRIES_OF_THREAD: RefCell<Memo<Entry, ENTRIES>> = const { RefCell::new(Memo::new()) };
    }

    pub(super) fn lookup(key: &[u8; KEY_LEN], token: &str) -> Option<Known> {
        ENTRIES_OF_THREAD.with_borrow(|entries| {
            entries
                .find(|entry| &entry.key == key && &*entry.token == token)
                .map(|entry| entry.known.clone())
        })
    }

    pub(super) fn remember(key: &[u8; KEY_LEN], token: &str, known: Known) {
        ENTRIES_OF_THREAD.with_borrow_mut(|entries| {
            entries.remember(
                Entry {
                    key: *key,
                    token: token.into(),
                    known,
                },
                |entry| &entry.key == key && &*entry.token == token,
            );
        });
    }
}

/// Times are checked first (as the EKS agent does), then audience and subject.
fn check_times(exp: Option<i64>, nbf: Option<i64>, now: i64) -> Result<(), TokenError> {
    let invalid = |reason: &str| TokenError::Claims(reason.to_string());
    match exp {
        None => return Err(invalid("token has no expiration (exp)")),
        Some(exp) if exp <= now => {
            return Err(invalid("token has invalid claims: token is expired"))
        }
        Some(_) => {}
    }
    if nbf.is_some_and(|nbf| nbf > now) {
        return Err(invalid("token has invalid claims: token is not valid yet"));
    }
    Ok(())
}

fn check_audience_and_subject(claims: &Claims) -> Result<ServiceAccount, TokenError> {
    let invalid = |reason: &str| TokenError::Claims(reason.to_string());
    let audience_ok = match &claims.aud {
        serde_json::Value::String(aud) => aud == AUDIENCE,
        serde_json::Value::Array(list) => list.iter().any(|aud| aud == AUDIENCE),
        _ => false,
    };
    if !audience_ok {
        return Err(invalid("token has invalid audience"));
    }
    // Only tokens imds-spoof issued: a token signed with our key but another issuer is
    // not one of ours (a key reused elsewhere, a crafted token).
    if claims.iss != ISSUER {
        return Err(invalid("token has invalid issuer"));
    }
    ServiceAccount::from_subject(&claims.sub)
        .ok_or_else(|| invalid("token subject is not a service account"))
}

fn read_key(path: &Path) -> std::io::Result<PodTokenKey> {
    use std::os::unix::fs::PermissionsExt;
    let text = std::fs::read_to_string(path)?;
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is not a key imds-spoof wrote (remove it to make a new one; tokens issued with it stop working)",
                path.display()
            ),
        )
    };
    let bytes = STANDARD.decode(text.trim()).map_err(|_| bad())?;
    let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| bad())?;
    // A copy restored from a backup may have lost its mode.
    let meta = std::fs::metadata(path)?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(PodTokenKey { key })
}

/// Where the key of the configuration at `config_path` lives.
pub fn key_dir(config_path: Option<&Path>) -> PathBuf {
    config_path
        .and_then(Path::parent)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> ServiceAccount {
        ServiceAccount::parse("payments/api").unwrap()
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let key = PodTokenKey::generate();
        let token = key.issue(&account(), 1_000, 60);
        assert_eq!(key.verify(&token, 1_000), Ok(account()));
        assert_eq!(key.verify(&token, 1_059), Ok(account()));
        assert!(matches!(
            key.verify(&token, 1_060),
            Err(TokenError::Claims(_))
        ));
        assert!(matches!(
            key.verify(&token, 999),
            Err(TokenError::Claims(_))
        ));
        let other = PodTokenKey::generate();
        assert!(matches!(
            other.verify(&token, 1_000),
            Err(TokenError::Malformed(_))
        ));
    }

    /// A token with our signature but another (or no) issuer is not one imds-spoof issued.
    #[test]
    fn another_issuer_is_refused_even_when_signed_with_our_key() {
        let key = PodTokenKey::generate();
        let sign = |claims: serde_json::Value| {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
            let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
            let signed = format!("{header}.{claims}");
            let signature =
                URL_SAFE_NO_PAD.encode(key.mac(signed.as_bytes()).finalize().into_bytes());
            format!("{signed}.{signature}")
        };
        let claims = |iss: Option<&str>| {
            let mut claims = serde_json::json!({
                "sub": "system:serviceaccount:payments:api",
                "aud": [AUDIENCE],
                "iat": 1_000, "nbf": 1_000, "exp": 2_000,
            });
            if let Some(iss) = iss {
                claims["iss"] = iss.into();
            }
            claims
        };
        assert_eq!(
            key.verify(&sign(claims(Some(ISSUER))), 1_500),
            Ok(account())
        );
        for iss in [Some("https://oidc.eks.amazonaws.com/id/X"), Some(""), None] {
            let err = key.verify(&sign(claims(iss)), 1_500).unwrap_err();
            assert!(err.to_string().contains("invalid issuer"), "{iss:?}: {err}");
        }
    }

    #[test]
    fn garbage_is_refused_with_the_agents_words() {
        let key = PodTokenKey::generate();
        assert_eq!(key.verify("", 0), Err(TokenError::Empty));
        for garbage in ["nope", "a.b", "a.b.c", "e30.e30.", "a.b.c.d"] {
            let err = key.verify(garbage, 0).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("Service account token cannot be parsed"),
                "{garbage}: {err}"
            );
        }
    }

    #[test]
    fn the_token_looks_like_a_projected_service_account_token() {
        let key = PodTokenKey::generate();
        let token = key.issue(&account(), 1_000, 60);
        let payload = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["aud"], serde_json::json!([AUDIENCE]));
        assert_eq!(claims["sub"], "system:serviceaccount:payments:api");
        assert_eq!(claims["kubernetes.io"]["namespace"], "payments");
        assert_eq!(claims["kubernetes.io"]["serviceaccount"]["name"], "api");
        assert_eq!(claims["exp"], 1_060);
        assert!(!token.contains('\n') && !token.contains('='));
    }

    #[test]
    fn the_key_file_is_made_once_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = PodTokenKey::load_or_create(dir.path()).unwrap();
        let again = PodTokenKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.key, again.key);
        let path = dir.path().join(KEY_FILE_NAME);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, "not a key").unwrap();
        let err = PodTokenKey::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("remove it"), "{err}");
    }

    #[test]
    fn service_accounts_parse_strictly() {
        assert_eq!(account().to_string(), "payments/api");
        for bad in ["api", "/api", "payments/", "a/b/c", "a:b/c"] {
            assert_eq!(ServiceAccount::parse(bad), None, "{bad}");
        }
    }
}
