//! What the broker knows of a request's connection: the peer's and the local address, and
//! a way for the handler to close it without answering (the "drop" fault).

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

/// The address of the peer, as a request extension for requests made in-process (tests);
/// the accept loop gives [`Connection`] instead.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Lets a handler close its connection without sending anything (the "drop" fault).
#[derive(Debug, Clone)]
pub struct ConnectionControl(pub(super) CancellationToken);

impl ConnectionControl {
    pub fn close_now(&self) {
        self.0.cancel();
    }
}

/// What the accept loop knows about a request's connection, made once per connection and
/// given to each of its requests as one extension (a reference count, one small box).
#[derive(Debug)]
pub struct Connection {
    pub peer: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    pub control: ConnectionControl,
}
