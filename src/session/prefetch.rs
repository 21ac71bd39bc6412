//! Sessions fetched before they are asked for: as a container joins the network (or is on
//! it when the run starts), the identity it plays is worked out as the broker would (rule >
//! label > active) and, when that identity assumes a role, its STS session is fetched in
//! the background. The container's first credentials request then finds it ready.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::config::{ConfigStore, ContainerFacts};
use crate::docker::CallerBook;
use crate::provider::BuiltinProvider;

/// The running prefetcher; stops when dropped.
pub(crate) struct Prefetcher(JoinHandle<()>);

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) fn spawn(
    book: Arc<CallerBook>,
    store: ConfigStore,
    provider: Arc<BuiltinProvider>,
) -> Prefetcher {
    let mut arrivals = book.arrivals();
    Prefetcher(tokio::spawn(async move {
        loop {
            let holder = match arrivals.recv().await {
                Ok(holder) => holder,
                // Missed some in a burst: their first request fetches instead.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            };
            let facts = ContainerFacts {
                name: Some(holder.name.clone()),
                compose_service: holder.compose_service.clone(),
                identity_label: holder.identity_label.clone(),
            };
            let config = store.current();
            let (identity, _) = config.identity_for(&facts);
            provider.prefetch(identity, &holder.name);
        }
    }))
}
