//! The broker: an axum server speaking the IMDS protocol (tokens, listings, EC2's
//! answers and errors) in front of a provider, recording every exchange.
//! It knows HTTP and IMDS, not the dashboard or Docker.

mod access;
mod connection;
pub mod doors;
mod error;
mod exchange;
mod faults;
mod identify;
mod limits;
mod outcome;
mod pacer;
mod pipeline;
pub mod readiness;
mod record;
mod responses;
mod running;
mod server;
mod state;

pub use access::{
    AccessPolicy, CallerDirectory, CallerInfo, CALLER_HEADER, DOOR_HEADER, IMDS_ADDRESS,
    SECRET_HEADER,
};
pub use connection::{Connection, ConnectionControl, PeerAddr};
pub use doors::imds::TokenStore;
pub use doors::{DoorKeys, TaskMetadataSource};
pub use error::BrokerError;
pub use pacer::CallerPacer;
pub use record::{mask, mask_json_secrets, ExchangeRecord, ImdsVersion, Recorder};
pub use record::{spawn_request_lines, LineFormat};
pub use record::{HeaderList, SharedText};
pub use record::{RecordStream, StreamError, READER_GATHER};
pub use responses::{error_page, SERVER, TOKEN_HEADER, TOKEN_TTL_HEADER};
pub use running::{router, Broker, Endpoint};
pub use state::BrokerState;
