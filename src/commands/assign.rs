//! `imds-spoof assign CONTAINER IDENTITY` / `--clear`: a `[[container]]` rule written to
//! the configuration file (comments kept, atomically, 0600). A running `up` or dashboard
//! watches the file, so the container's next request answers with the new identity.

use crate::cli::{AssignArgs, GlobalArgs};
use crate::config::{self, set_container_rule};

pub fn run(global: &GlobalArgs, args: &AssignArgs) -> anyhow::Result<()> {
    let path = super::config_path(global);
    // Created with the sample on first use, like every other command.
    config::load_or_create(&path)?;
    let identity = if args.clear {
        None
    } else {
        args.identity.as_deref()
    };
    let config = config::edit_file(&path, |document| {
        set_container_rule(document, &args.container, identity)
    })?;
    match identity {
        Some(identity) => println!(
            "{} plays identity {identity} (rule in {}); a running imds-spoof answers with it from the container's next request",
            args.container,
            path.display()
        ),
        None => {
            let fallback = format!(
                "its imds-spoof.identity label, or the active identity {}",
                config.active_identity
            );
            println!(
                "{} has no rule now: {fallback} applies from its next request",
                args.container
            );
        }
    }
    Ok(())
}
