//! Providers answer "what is the value at this path for this caller". The broker
//! speaks HTTP and IMDS tokens; a provider only knows data.

mod api;
mod assume;
mod builtin;
mod cache;
mod clock;
mod command;
mod credentials;
mod external;
mod factory;
mod keys;
mod lifetime;
mod mfa;
mod profile;
mod refresh;
mod refresh_state;
mod sdk_http;
mod served;

pub use api::{Provider, ProviderAnswer, ProviderError, ProviderFuture, ProviderRequest};
pub use assume::Caller as SessionCaller;
pub use builtin::BuiltinProvider;
pub use cache::{Accept, Kept, SingleFlightCache};
pub use clock::{Clock, ManualClock, SystemClock};
pub use credentials::CredentialResolver;
pub use external::{envelope_json, ExternalProvider, NOT_FOUND_EXIT_CODE};
pub use factory::{
    build_provider, describe_certificates, open_signer, signing_dir, BuiltProvider,
    UnavailableProvider,
};
pub use mfa::{check_code as check_mfa_code, MfaNeeded};
pub use refresh_state::{RefreshState, RefreshStates};
