//! The one HTTPS client every AWS SDK call of the provider shares (STS, SSO, SSO-OIDC):
//! rustls with ring, built once so its connection pool and trust roots are reused.

use std::sync::LazyLock;

use aws_sdk_sts::config::SharedHttpClient;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider as TlsProvider};

static CLIENT: LazyLock<SharedHttpClient> = LazyLock::new(|| {
    aws_smithy_http_client::Builder::new()
        .tls_provider(TlsProvider::Rustls(CryptoMode::Ring))
        .build_https()
});

pub(super) fn https_client() -> SharedHttpClient {
    CLIENT.clone()
}
