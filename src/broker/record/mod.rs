//! The record of every exchange: what one looks like (`entry.rs`), how secrets are masked
//! in it (`mask.rs`, `log_options.rs`), the bounded ring and its readers (`ring.rs`), the
//! recorder that feeds both and the request log (`recorder.rs`), and the request lines of
//! `up` and `serve` (`lines.rs`).

mod entry;
mod lines;
mod log_options;
mod mask;
mod recorder;
mod ring;
mod text;

pub use entry::{ExchangeRecord, ImdsVersion};
pub use lines::{spawn_request_lines, LineFormat};
pub use mask::{mask, mask_json_secrets};
pub use recorder::Recorder;
pub use ring::{RecordStream, StreamError, READER_GATHER};
pub use text::{HeaderList, SharedText, HEADER_VALUE_LIMIT};
