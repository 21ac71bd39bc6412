//! The proxy image: used when present, pulled with progress when not, and an explanation
//! of the offline alternative when the pull fails.

use std::collections::HashMap;

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::{api, status_of, DockerError, Engine, OFFLINE_PROXY_IMAGE};

/// Bytes done and total over all layers of a pull (total 0 = not known yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PullProgress {
    pub current: u64,
    pub total: u64,
}

/// Whether the engine has the image locally.
pub async fn image_present(engine: &Engine, image: &str) -> Result<bool, DockerError> {
    match engine.docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(err) if status_of(&err) == Some(404) => Ok(false),
        Err(err) => Err(api(format!("inspecting image {image}"))(err)),
    }
}

/// Makes sure the image is there, pulling it when missing; `progress` sees every update.
/// Returns true when it pulled.
pub async fn ensure_image(
    engine: &Engine,
    image: &str,
    progress: &mut (dyn FnMut(PullProgress) + Send),
) -> Result<bool, DockerError> {
    if image_present(engine, image).await? {
        return Ok(false);
    }
    let (repository, tag) = split_reference(image);
    let mut builder = CreateImageOptionsBuilder::default().from_image(repository);
    if let Some(tag) = tag {
        builder = builder.tag(tag);
    }
    let unavailable = |reason: String| DockerError::ImageUnavailable {
        image: image.to_string(),
        reason,
        offline: OFFLINE_PROXY_IMAGE.to_string(),
    };
    let mut stream = engine
        .docker
        .create_image(Some(builder.build()), None, None);
    // Per-layer (current, total): the engine reports each layer separately.
    let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|err| unavailable(pull_reason(&err)))?;
        let (Some(id), Some(status)) = (info.id, info.status) else {
            continue;
        };
        let entry = layers.entry(id).or_default();
        if let Some(detail) = info.progress_detail {
            let total = u64::try_from(detail.total.unwrap_or(0)).unwrap_or(0);
            let current = u64::try_from(detail.current.unwrap_or(0)).unwrap_or(0);
            // Extraction reports progress over the same bytes again; count downloads only.
            if status.starts_with("Downloading") && total > 0 {
                *entry = (current.min(total), total);
            }
        }
        if matches!(
            status.as_str(),
            "Download complete" | "Pull complete" | "Already exists"
        ) {
            entry.0 = entry.1;
        }
        progress(PullProgress {
            current: layers.values().map(|(c, _)| c).sum(),
            total: layers.values().map(|(_, t)| t).sum(),
        });
    }
    if !image_present(engine, image).await? {
        return Err(unavailable(
            "the pull finished but the engine does not list the image".to_string(),
        ));
    }
    Ok(true)
}

fn pull_reason(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    }
}

/// `repo[:tag]` or `repo@digest`, where a registry host may carry a port (`host:5000/x`).
fn split_reference(image: &str) -> (&str, Option<&str>) {
    if image.contains('@') {
        return (image, None);
    }
    let name_start = image.rfind('/').map_or(0, |slash| slash + 1);
    match image[name_start..].rfind(':') {
        Some(colon) => {
            let at = name_start + colon;
            (&image[..at], Some(&image[at + 1..]))
        }
        None => (image, Some("latest")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split() {
        assert_eq!(
            split_reference("nginx:1.27.5-alpine"),
            ("nginx", Some("1.27.5-alpine"))
        );
        assert_eq!(
            split_reference("imds-spoof/nginx-offline"),
            ("imds-spoof/nginx-offline", Some("latest"))
        );
        assert_eq!(
            split_reference("localhost:5000/proxy:v2"),
            ("localhost:5000/proxy", Some("v2"))
        );
        assert_eq!(
            split_reference("localhost:5000/proxy"),
            ("localhost:5000/proxy", Some("latest"))
        );
        assert_eq!(
            split_reference("nginx@sha256:abc"),
            ("nginx@sha256:abc", None)
        );
    }
}
