//! The Rust SDK's real IMDS code (`aws-config`'s imds client, credentials and region
//! providers) pointed at a test server, over a plain-HTTP hyper client (no TLS).

use aws_config::imds::client::{Client, EndpointMode};
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;

/// What aws-config resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub access_key: String,
    pub secret: String,
    pub token: Option<String>,
    pub expiry: Option<std::time::SystemTime>,
    pub region: Option<String>,
}

/// The provider configuration an application would get, with the HTTP client made
/// explicit: aws-config is built without its default (TLS) client. The default also
/// brings the tokio sleep (feature rt-tokio) and the system clock.
fn provider_config() -> ProviderConfig {
    ProviderConfig::without_region()
        .with_http_client(aws_smithy_http_client::Builder::new().build_http())
}

/// An IMDS client for `endpoint` (e.g. `http://127.0.0.1:PORT`), with SDK defaults
/// (token TTL 21600 s, 1 s timeouts, retries on 5xx and 401).
pub fn client(endpoint: &str) -> Client {
    Client::builder()
        .configure(&provider_config())
        .endpoint(endpoint)
        .expect("a valid endpoint URL")
        .build()
}

/// An IMDS client with no endpoint of its own, in IPv6 endpoint mode: it calls
/// http://[fd00:ec2::254] (what `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6` selects).
pub fn ipv6_mode_client() -> Client {
    Client::builder()
        .configure(&provider_config())
        .endpoint_mode(EndpointMode::IpV6)
        .build()
}

/// Credentials through `ImdsCredentialsProvider` and the region through
/// `ImdsRegionProvider`, each built fresh as an application would at start-up.
pub async fn resolve(endpoint: &str) -> Result<Resolved, String> {
    resolve_with(|| client(endpoint)).await
}

/// [`resolve`] with clients from `make` (one for credentials, one for the region).
pub async fn resolve_with(make: impl Fn() -> Client) -> Result<Resolved, String> {
    let config = provider_config();
    let credentials = ImdsCredentialsProvider::builder()
        .configure(&config)
        .imds_client(make())
        .build()
        .provide_credentials()
        .await
        .map_err(|err| format!("aws-config ImdsCredentialsProvider: {err:?}"))?;
    let region = ImdsRegionProvider::builder()
        .configure(&config)
        .imds_client(make())
        .build()
        .region()
        .await;
    Ok(Resolved {
        access_key: credentials.access_key_id().to_string(),
        secret: credentials.secret_access_key().to_string(),
        token: credentials.session_token().map(str::to_string),
        expiry: credentials.expiry(),
        region: region.map(|region| region.as_ref().to_string()),
    })
}

/// Credentials through aws-config's `EcsCredentialsProvider`, which reads
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` / `_RELATIVE_URI` and the authorization token (file)
/// from this process's environment, as an application's default chain does.
pub async fn resolve_container() -> Result<Resolved, String> {
    let credentials = aws_config::ecs::EcsCredentialsProvider::builder()
        .configure(&provider_config())
        .build()
        .provide_credentials()
        .await
        .map_err(|err| format!("aws-config EcsCredentialsProvider: {err:?}"))?;
    Ok(Resolved {
        access_key: credentials.access_key_id().to_string(),
        secret: credentials.secret_access_key().to_string(),
        token: credentials.session_token().map(str::to_string),
        expiry: credentials.expiry(),
        region: None,
    })
}
