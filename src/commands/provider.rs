//! `imds-spoof provider`: the built-in provider behind the external-provider protocol,
//! both a working provider and the reference for people writing their own.

use std::io::Write;

use crate::cli::{GlobalArgs, ProviderArgs};
use crate::provider::{envelope_json, BuiltinProvider, Provider, ProviderRequest};

pub async fn run(global: &GlobalArgs, args: &ProviderArgs) -> anyhow::Result<()> {
    let store = super::open_store(global)?;
    let signer = crate::provider::open_signer(&store)?;
    let provider = BuiltinProvider::one_shot(store.clone(), signer);
    let request = ProviderRequest {
        method: args.method.clone(),
        path: args.path.clone(),
        identity: store.current().active_identity.clone(),
        caller_ip: args.caller_ip,
        caller_container: args.caller_container.clone(),
    };
    let answer = provider.answer(&request).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", envelope_json(&answer))?;
    stdout.flush()?;
    Ok(())
}
