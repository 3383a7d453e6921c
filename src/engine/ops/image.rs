//! Images: build one with the classic builder from a build spec, pull one,
//! look one up.
//!
//! The build spec is the `build` object of an image resource's canonical spec
//! (`context`, `dockerfile`, `dockerfile_content`, `args`, `target`,
//! `labels`) or a compose `build:` entry (`dockerfile_inline` instead of
//! `dockerfile_content`): both work.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use bollard::query_parameters::{BuildImageOptions, BuilderVersion, CreateImageOptions};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::context_tar::{Dockerfile, context_tar};
use super::{failed, merged_labels};
use crate::engine::{Engine, EngineError};
use crate::resource::context::dockerfile_in_context;
use crate::resource::spec::BuildSpec;

/// How many lines of build output a failed build's message ends with.
const TAIL_LINES: usize = 5;

/// Build `build_spec` and tag it `tag`, adding `labels`; the image ID.
/// Every line of the builder's output goes to `progress` as it arrives. A
/// failed build reports the builder's error on one line followed by the last
/// lines of output.
pub async fn build(
    engine: &Engine,
    tag: &str,
    build_spec: &BuildSpec,
    labels: &BTreeMap<String, String>,
    skip: &[std::path::PathBuf],
    mut progress: impl FnMut(&str),
) -> Result<String, EngineError> {
    let doing = format!("build image `{tag}`");
    let context = build_spec.context.as_str();
    // no `dockerfile`: the inline text (`dockerfile_inline`) is the content
    let inline = match &build_spec.dockerfile {
        None => build_spec.dockerfile_content.as_deref(),
        Some(_) => None,
    };
    // As the docker CLI sends it: a Dockerfile inside the context as itself;
    // inline text, or one outside the context, as a generated file.
    let dockerfile_path =
        Path::new(context).join(build_spec.dockerfile.as_deref().unwrap_or("Dockerfile"));
    let unreadable = |detail: String| {
        failed(
            &doing,
            format!(
                "cannot read the Dockerfile `{}`: {detail}",
                dockerfile_path.display()
            ),
        )
    };
    let in_context = match inline {
        Some(_) => None,
        None => dockerfile_in_context(Path::new(context), build_spec.dockerfile.as_deref()),
    };
    let generated: (String, Vec<u8>);
    let dockerfile = match (inline, in_context.as_deref()) {
        (None, Some(rel)) => {
            if !dockerfile_path.is_file() {
                return Err(unreadable("no such file".into()));
            }
            Dockerfile::InContext(rel)
        }
        _ => {
            let text = match inline {
                Some(text) => text.as_bytes().to_vec(),
                None => {
                    std::fs::read(&dockerfile_path).map_err(|e| unreadable(e.kind().to_string()))?
                }
            };
            // the docker CLI's name, `.dockerfile.` and 20 hex digits: the
            // builder leaves `.dockerignore` (which names it) in the image;
            // a hash of the text instead of random digits keeps the cache
            let name = format!(".dockerfile.{}", &hex::encode(Sha256::digest(&text))[..20]);
            generated = (name, text);
            Dockerfile::Generated {
                name: &generated.0,
                text: &generated.1,
            }
        }
    };
    let name = match dockerfile {
        Dockerfile::InContext(rel) => rel.to_string(),
        Dockerfile::Generated { name, .. } => name.to_string(),
    };
    let tar = context_tar(Path::new(context), dockerfile, skip).map_err(|e| {
        failed(
            &doing,
            format!("cannot read the build context `{context}`: {e}"),
        )
    })?;

    let args: HashMap<String, String> = build_spec
        .args
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
        .collect();
    let options = BuildImageOptions {
        dockerfile: name,
        t: Some(tag.to_string()),
        rm: true,
        forcerm: true,
        buildargs: (!args.is_empty()).then_some(args),
        labels: Some(merged_labels(&build_spec.labels, labels)),
        target: build_spec.target.clone().unwrap_or_default(),
        networkmode: build_spec.network.clone(),
        version: BuilderVersion::BuilderV1,
        ..Default::default()
    };
    let mut tail: Vec<String> = Vec::new();
    let mut stream =
        engine
            .docker()
            .build_image(options, None, Some(bollard::body_full(tar.into())));
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(build_failed(&doing, &error, &tail));
            }
            Err(e) => return Err(engine.error(&doing, e)),
        };
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(build_failed(&doing, &detail, &tail));
        }
        for text in [info.stream, info.status].into_iter().flatten() {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                progress(line);
                tail.push(line.to_string());
                if tail.len() > TAIL_LINES {
                    tail.remove(0);
                }
            }
        }
    }
    match inspect_id(engine, tag).await? {
        Some(id) => Ok(id),
        None => Err(failed(
            &doing,
            "the builder finished but no image carries the tag",
        )),
    }
}

fn build_failed(doing: &str, error: &str, tail: &[String]) -> EngineError {
    let error = error.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut message = error;
    if !tail.is_empty() {
        message.push_str(" (last output: ");
        message.push_str(&tail.join(" | "));
        message.push(')');
    }
    failed(doing, message)
}

/// The ID of the local image `reference`, `None` when there is none.
pub async fn inspect_id(engine: &Engine, reference: &str) -> Result<Option<String>, EngineError> {
    match engine.docker().inspect_image(reference).await {
        Ok(image) => Ok(image.id),
        Err(e) => {
            let err = engine.error(&format!("inspect image `{reference}`"), e);
            if err.is_not_found() {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Pull `reference`; the image ID. Any failure says which image and that a
/// local build or image is needed (our machines reach no registry).
pub async fn pull(engine: &Engine, reference: &str) -> Result<String, EngineError> {
    let doing = format!("pull image `{reference}`");
    let no_registry = |cause: &str| {
        failed(
            &doing,
            format!(
                "{cause} (no registry is reachable: build the image locally (`build:`) or load `{reference}` into the engine)"
            ),
        )
    };
    let (image, tag) = split_reference(reference);
    let options = CreateImageOptions {
        from_image: Some(image.to_string()),
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut stream = engine.docker().create_image(Some(options), None, None);
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(m) = info.error_detail.and_then(|d| d.message) {
                    return Err(no_registry(&one_line(&m)));
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(no_registry(&one_line(&error)));
            }
            Err(e) => {
                return Err(match engine.error(&doing, e) {
                    EngineError::Api { message, .. } => no_registry(&message),
                    other => other,
                });
            }
        }
    }
    match inspect_id(engine, reference).await? {
        Some(id) => Ok(id),
        None => Err(no_registry("the pull finished without the image")),
    }
}

/// `redis:alpine` -> (`redis`, `alpine`); `host:5000/x` -> (`host:5000/x`,
/// `latest`); a digest stays in the image part.
fn split_reference(reference: &str) -> (&str, &str) {
    if reference.contains('@') {
        return (reference, "");
    }
    match reference.rfind(':') {
        Some(at) if !reference[at..].contains('/') => (&reference[..at], &reference[at + 1..]),
        _ => (reference, "latest"),
    }
}

/// The references of `repository` on the engine (`berth-keep/demo:7-web`)
/// and the image ID each names.
pub async fn references(
    engine: &Engine,
    repository: &str,
) -> Result<BTreeMap<String, String>, EngineError> {
    let options = bollard::query_parameters::ListImagesOptions {
        filters: Some(HashMap::from([(
            "reference".to_string(),
            vec![repository.to_string()],
        )])),
        ..Default::default()
    };
    let images = engine
        .docker()
        .list_images(Some(options))
        .await
        .map_err(|e| engine.error(&format!("list the images of `{repository}`"), e))?;
    let prefix = format!("{repository}:");
    Ok(images
        .into_iter()
        .flat_map(|i| {
            let id = i.id;
            i.repo_tags
                .into_iter()
                .filter(|t| t.starts_with(&prefix))
                .map(move |t| (t, id.clone()))
        })
        .collect())
}

/// Point `reference` (`repository:tag`) at image `id`, moving it if it
/// names another.
pub async fn tag(engine: &Engine, id: &str, reference: &str) -> Result<(), EngineError> {
    let (repo, tag) = split_reference(reference);
    let options = bollard::query_parameters::TagImageOptions {
        repo: Some(repo.to_string()),
        tag: Some(tag.to_string()),
    };
    engine
        .docker()
        .tag_image(id, Some(options))
        .await
        .map_err(|e| engine.error(&format!("tag image {id} as `{reference}`"), e))
}

/// Remove the reference `reference`. The image goes with it when nothing
/// else names it and no container uses it (as `docker image prune` would
/// remove it); else it only loses this name.
pub async fn untag(engine: &Engine, reference: &str) -> Result<(), EngineError> {
    let options = bollard::query_parameters::RemoveImageOptions {
        force: true,
        ..Default::default()
    };
    match engine
        .docker()
        .remove_image(reference, Some(options), None)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = engine.error(&format!("remove the image reference `{reference}`"), e);
            if err.is_not_found() { Ok(()) } else { Err(err) }
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_image_and_tag() {
        assert_eq!(split_reference("redis:alpine"), ("redis", "alpine"));
        assert_eq!(split_reference("redis"), ("redis", "latest"));
        assert_eq!(split_reference("host:5000/x"), ("host:5000/x", "latest"));
        assert_eq!(split_reference("host:5000/x:1"), ("host:5000/x", "1"));
    }
}
