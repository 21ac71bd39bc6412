//! Configuration: the model, loading with located errors, the commented sample,
//! comment-preserving edits and a watcher that applies changes to a running broker.

mod ecs_task;
mod edit;
mod error;
mod load;
mod model;
mod sample;
mod store;
pub mod time;
mod write;

pub use ecs_task::{EcsTaskSettings, LaunchType, DEFAULT_CLUSTER};
pub use edit::{edit_file, identity_table, set_container_rule, switch_source, EditError};
pub use error::ConfigError;
pub use load::{
    check_container_name, check_instance_id, check_role_arn, check_timestamp, check_zone,
    default_path, load, load_or_create, parse, validate, validate_identity,
};
pub use model::*;
pub use sample::SAMPLE_CONFIG;
pub use store::ConfigStore;
pub use write::{check_target, write_atomically, write_file_atomically};
