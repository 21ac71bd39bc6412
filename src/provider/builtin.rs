//! The built-in provider: answers from the configuration.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use time::OffsetDateTime;

use crate::config::{Config, ConfigStore};
use crate::imds::documents::{signed_identity_document, Credentials};
use crate::imds::signing::IdentitySigner;
use crate::imds::tree::{self, Dir, Leaf, Node};

use super::assume::Caller;
use super::clock::{Clock, SystemClock};
use super::credentials::{identity_role_credentials, CredentialResolver};
use super::refresh_state::RefreshStates;
use super::served::{self, Owner, Question};
use super::{Provider, ProviderAnswer, ProviderError, ProviderFuture, ProviderRequest};

/// Answers every IMDS path from the configuration in force.
pub struct BuiltinProvider {
    store: ConfigStore,
    signer: Arc<IdentitySigner>,
    /// The simulated launch time (identity document `pendingTime`).
    launched: OffsetDateTime,
    credentials: CredentialResolver,
    /// Names this provider's answers in the per-thread memo (`served.rs`).
    owner: Owner,
    trees: Mutex<TreeCache>,
    /// The last credentials served per identity and their JSON (plain, extended): SDKs
    /// poll the same credentials many times, and rendering them costs more than the rest
    /// of a request.
    rendered_credentials: Mutex<[RenderedCredentials; 2]>,
    /// Stops the background credentials refresher when the provider goes.
    _refresher: Option<tokio_util::sync::DropGuard>,
}

/// Per identity, the credentials last rendered and their JSON.
type RenderedCredentials = HashMap<String, (Arc<Credentials>, Bytes)>;

/// Trees built for the configuration version they were built from.
#[derive(Default)]
struct TreeCache {
    config: Option<Arc<Config>>,
    trees: HashMap<String, Arc<Dir>>,
}

impl BuiltinProvider {
    /// A provider for a running broker: command and profile credentials are fetched in
    /// the background from the start (inside a tokio runtime; lazily outside one).
    pub fn new(store: ConfigStore, signer: Arc<IdentitySigner>) -> Self {
        Self::with_clock(store, signer, Arc::new(SystemClock))
    }

    /// As [`BuiltinProvider::new`], on `clock` (tests move a `ManualClock`).
    pub fn with_clock(
        store: ConfigStore,
        signer: Arc<IdentitySigner>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut provider = Self::build(store, signer, clock);
        if tokio::runtime::Handle::try_current().is_ok() {
            provider._refresher = Some(provider.credentials.start_refresh(provider.store.clone()));
        }
        provider
    }

    /// A provider for a single answer (`imds-spoof provider`): credentials are fetched
    /// when asked for, so other identities' commands are not run for nothing.
    pub fn one_shot(store: ConfigStore, signer: Arc<IdentitySigner>) -> Self {
        Self::build(store, signer, Arc::new(SystemClock))
    }

    fn build(store: ConfigStore, signer: Arc<IdentitySigner>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            signer,
            launched: OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or_else(|_| OffsetDateTime::now_utc()),
            credentials: CredentialResolver::new(clock),
            owner: Owner::new(),
            trees: Mutex::new(TreeCache::default()),
            rendered_credentials: Mutex::new([HashMap::new(), HashMap::new()]),
            _refresher: None,
        }
    }

    /// Where each identity's command or profile credentials stand (fetching, fresh until,
    /// failed with a reason), updated by the background refresher: for the dashboard.
    pub fn refresh_states(&self) -> tokio::sync::watch::Receiver<RefreshStates> {
        self.credentials.refresh_states()
    }

    pub fn credentials(&self) -> &CredentialResolver {
        &self.credentials
    }

    /// The version root of an identity for this configuration, built on first use.
    fn tree(&self, config: &Arc<Config>, identity_name: &str) -> Result<Arc<Dir>, ProviderError> {
        let mut cache = self
            .trees
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if !cache
            .config
            .as_ref()
            .is_some_and(|seen| Arc::ptr_eq(seen, config))
        {
            cache.config = Some(config.clone());
            cache.trees.clear();
        }
        if let Some(tree) = cache.trees.get(identity_name) {
            return Ok(tree.clone());
        }
        let identity = config
            .identity(identity_name)
            .ok_or_else(|| ProviderError::UnknownIdentity(identity_name.to_string()))?;
        let signed =
            signed_identity_document(identity, self.launched, &self.signer).map_err(|err| {
                ProviderError::Unavailable(format!("cannot sign the identity document: {err}"))
            })?;
        let tree = Arc::new(tree::build(config, identity, &signed));
        cache.trees.insert(identity_name.to_string(), tree.clone());
        Ok(tree)
    }

    /// The JSON of `credentials`, reused while an identity's credentials stay the same;
    /// with `AccountId` when `account_id` is given (the extended path).
    fn render_credentials(
        &self,
        identity: &str,
        credentials: Arc<Credentials>,
        account_id: Option<&str>,
    ) -> Bytes {
        let mut rendered = self
            .rendered_credentials
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        // One map per rendering, looked up by the identity's name without a copy of it.
        let rendered = &mut rendered[usize::from(account_id.is_some())];
        if let Some((seen, body)) = rendered.get(identity) {
            // Cached credentials come back as the same `Arc` until they change.
            if Arc::ptr_eq(seen, &credentials) || *seen == credentials {
                return body.clone();
            }
        }
        let body = Bytes::from(match account_id {
            Some(account) => credentials.to_imds_json_extended(account),
            None => credentials.to_imds_json(),
        });
        rendered.insert(identity.to_string(), (credentials, body.clone()));
        body
    }

    async fn answer_path(
        &self,
        request: &ProviderRequest,
    ) -> Result<ProviderAnswer, ProviderError> {
        let config = self.store.current();
        let path = request.path.trim_start_matches('/');
        if path.is_empty() {
            return Ok(ProviderAnswer::ok(tree::versions_listing()));
        }
        let (version, rest) = path.split_once('/').unwrap_or((path, ""));
        if !tree::is_version(version) {
            return Ok(ProviderAnswer::not_found());
        }
        let root = self.tree(&config, &request.identity)?;
        if rest.trim_matches('/').is_empty() {
            return Ok(ProviderAnswer::ok(root.listing_bytes()));
        }
        match tree::lookup(&root, rest) {
            None => Ok(ProviderAnswer::not_found()),
            Some(Node::Dir(dir)) => Ok(ProviderAnswer::ok(dir.listing_bytes())),
            Some(Node::Leaf(Leaf::Text(text))) => Ok(ProviderAnswer::ok(text.clone())),
            Some(Node::Leaf(leaf @ (Leaf::RoleCredentials | Leaf::RoleCredentialsExtended))) => {
                let question = Question {
                    owner: self.owner,
                    config: &config,
                    identity: &request.identity,
                    extended: matches!(leaf, Leaf::RoleCredentialsExtended),
                };
                if let Some(body) =
                    served::recall(&question, |reuse| self.credentials.is_current(reuse))
                {
                    return Ok(ProviderAnswer::ok(body));
                }
                let identity = config
                    .identity(&request.identity)
                    .ok_or_else(|| ProviderError::UnknownIdentity(request.identity.clone()))?;
                let role = identity
                    .role
                    .as_ref()
                    .ok_or_else(|| ProviderError::UnknownIdentity(request.identity.clone()))?;
                let caller = Caller {
                    container: request.caller_container.as_deref(),
                    identity: &request.identity,
                    instance_id: &identity.instance_id,
                };
                let resolved = self.credentials.resolve_for(role, &caller, &config).await?;
                let account = question.extended.then_some(identity.account_id.as_str());
                let body =
                    self.render_credentials(&request.identity, resolved.credentials, account);
                if let Some(reuse) = resolved.reuse {
                    served::keep(&question, reuse, body.clone());
                }
                Ok(ProviderAnswer::ok(body))
            }
            Some(Node::Leaf(Leaf::IdentityCredentials)) => {
                let identity = config
                    .identity(&request.identity)
                    .ok_or_else(|| ProviderError::UnknownIdentity(request.identity.clone()))?;
                Ok(ProviderAnswer::ok(
                    identity_role_credentials(identity).to_imds_json(),
                ))
            }
        }
    }
}

impl BuiltinProvider {
    /// A container joined the network playing `identity`: when that identity assumes a
    /// role, its session is fetched now, in the background, so the container's first
    /// request is answered from it rather than waiting on STS.
    pub fn prefetch(&self, identity: &str, container: &str) {
        let config = self.store.current();
        let Some(found) = config.identity(identity) else {
            return;
        };
        let Some(role) = found.role.clone() else {
            return;
        };
        if !matches!(role.source, crate::config::CredentialSource::AssumeRole(_)) {
            return;
        }
        let (resolver, identity, instance_id, container) = (
            self.credentials.clone(),
            identity.to_string(),
            found.instance_id.clone(),
            container.to_string(),
        );
        tokio::spawn(async move {
            let caller = Caller {
                container: Some(&container),
                identity: &identity,
                instance_id: &instance_id,
            };
            match resolver.resolve_for(&role, &caller, &config).await {
                Ok(_) => tracing::info!(
                    %container,
                    %identity,
                    "assumed-role session ready ahead of the first request"
                ),
                Err(err) => {
                    tracing::warn!(%container, %identity, "session not fetched ahead: {err}")
                }
            }
        });
    }
}

impl Provider for BuiltinProvider {
    fn answer<'a>(&'a self, request: &'a ProviderRequest) -> ProviderFuture<'a> {
        Box::pin(self.answer_path(request))
    }
}
