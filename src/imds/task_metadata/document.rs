//! Which v4 document a path asks for.

/// Which v4 document a path below `ECS_CONTAINER_METADATA_URI_V4` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskDocument {
    Container,
    Task,
    TaskWithTags,
    ContainerStats,
    TaskStats,
}

impl TaskDocument {
    /// The document of `rest`, the path after `/v4/<id>`; None for anything else (404).
    /// Exact, as the agent's router matches: a trailing `/` is another path there (its
    /// gorilla/mux routes are registered without `StrictSlash`).
    pub fn from_rest(rest: &str) -> Option<TaskDocument> {
        Some(match rest {
            "" => TaskDocument::Container,
            "/task" => TaskDocument::Task,
            "/taskWithTags" => TaskDocument::TaskWithTags,
            "/stats" => TaskDocument::ContainerStats,
            "/task/stats" => TaskDocument::TaskStats,
            _ => return None,
        })
    }

    /// Whether answering needs the engine's stats (slow: Docker samples twice).
    pub fn needs_stats(self) -> bool {
        matches!(self, TaskDocument::ContainerStats | TaskDocument::TaskStats)
    }
}
