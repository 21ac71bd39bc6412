//! One request from start to answer, whatever the door: the exchange is taken from the
//! request, the door it came through decides (`doors/`), and the outcome is recorded and
//! sent, withheld, or the connection dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Response, StatusCode};

use crate::config::{Door, IdentityOrigin};

use super::connection::{Connection, PeerAddr};
use super::doors;
use super::exchange::{record, Exchange};
use super::outcome::Outcome;
use super::record::ImdsVersion;
use super::responses;
use super::BrokerState;

/// The handler as a router mounts it: the connection, if any, in the request's extensions.
pub async fn handle(State(state): State<Arc<BrokerState>>, request: Request) -> Response<Body> {
    let connection = request.extensions().get::<Arc<Connection>>().cloned();
    answer(state, request, connection).await
}

/// One exchange on `connection`. The server's connections call this directly: the body
/// is never read, and handing the connection over in the request's extensions cost an
/// allocation per request.
pub(super) async fn answer<B>(
    state: Arc<BrokerState>,
    mut request: axum::http::Request<B>,
    connection: Option<Arc<Connection>>,
) -> Response<Body> {
    let started = Instant::now();
    let peer = connection
        .as_ref()
        .and_then(|connection| connection.peer)
        .or_else(|| request.extensions().get::<PeerAddr>().map(|peer| peer.0))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let config = state.store.current();
    let mut exchange = Exchange {
        started,
        peer,
        local: connection.as_ref().and_then(|connection| connection.local),
        method: request.method().clone(),
        path: request.uri().path().to_string(),
        // Taken, not cloned: the request is dropped right after.
        headers: std::mem::take(request.headers_mut()),
        door: Door::Imds,
        caller: None,
        caller_container: None,
        identity: config.active_identity.clone(),
        identity_origin: IdentityOrigin::Active,
        on_network: false,
        version: ImdsVersion::V1,
        provider_error: None,
        fault: None,
    };
    drop(request);
    exchange.door = doors::door_of(&state.access, &exchange.headers, &exchange.path);

    let outcome = match exchange.door {
        Door::Imds => doors::imds::decide(&state, &config, &mut exchange).await,
        Door::Ecs => doors::ecs::decide(&state, &config, &mut exchange).await,
        Door::Eks => doors::eks::decide(&state, &config, &mut exchange).await,
    };
    match outcome {
        Outcome::Answer(response) => {
            // The body is recorded from the answer as built: no second collection.
            record(&state, &config, exchange, Some(&response));
            response.map(Body::from)
        }
        outcome @ (Outcome::NoAnswer | Outcome::Drop) => {
            record(&state, &config, exchange, None);
            if matches!(outcome, Outcome::Drop) {
                if let Some(connection) = &connection {
                    connection.control.close_now();
                }
            }
            wait_forever(&state).await;
            responses::error(StatusCode::SERVICE_UNAVAILABLE).map(Body::from)
        }
    }
}

/// Waits until the server shuts down; the connection's end drops this future first.
async fn wait_forever(state: &BrokerState) {
    state.shutdown.cancelled().await;
}
