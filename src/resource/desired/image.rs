//! A service's image resource: the tag it is built or pulled under and, for a
//! built one, the build's inputs with the content hash of its context. The
//! hashes of all contexts are taken once per resolve, here, through the
//! context-hash cache when [`super::ResolveOptions::context_cache`] names one.

use crate::resource::sensitive::SealKey;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ResolveError, Resource, resource};
use crate::compose::model::{Project, Service};
use crate::resource::address::Address;
use crate::resource::context::{context_hash, dockerfile_in_context};
use crate::resource::context_cache::ContextCache;
use crate::resource::spec::{BuildSpec, ImageSpec, Spec};

/// The tag berth builds a service's image under: `image:` if set, else `<project>-<service>`.
pub fn image_reference(project: &str, s: &Service) -> String {
    s.image
        .clone()
        .unwrap_or_else(|| format!("{project}-{}", s.name))
}

/// A build context as `docker build` sends it: its directory, and the
/// Dockerfile inside it that the build reads (always sent, see
/// [`crate::resource::context::context_files`]).
pub(super) type ContextKey = (String, Option<String>);

fn context_key(b: &crate::compose::model::Build) -> ContextKey {
    let dockerfile = match b.dockerfile_inline {
        Some(_) => None,
        None => dockerfile_in_context(Path::new(&b.context), b.dockerfile.as_deref()),
    };
    (b.context.clone(), dockerfile)
}

fn hash_context((context, dockerfile): &ContextKey, skip: &[PathBuf]) -> Result<String, String> {
    context_hash(Path::new(context), dockerfile.as_deref(), skip).map_err(|e| e.to_string())
}

/// The content hash of every build context the services use, each hashed
/// once (or why it could not be read), through the cache file `cache` when
/// given.
pub(super) fn context_hashes(
    p: &Project,
    services: &BTreeSet<String>,
    skip: &[PathBuf],
    cache: Option<&Path>,
) -> HashMap<ContextKey, Result<String, String>> {
    // opened at the first build context: a project without one writes nothing
    let mut opened: Option<ContextCache> = None;
    let mut out = HashMap::new();
    for name in services {
        if let Some(b) = &p.services[name].build {
            let key = context_key(b);
            if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(key) {
                let hash = match cache {
                    Some(path) => {
                        let (context, dockerfile) = slot.key();
                        opened
                            .get_or_insert_with(|| ContextCache::open(path))
                            .context_hash(Path::new(context), dockerfile.as_deref(), skip)
                            .map_err(|e| e.to_string())
                    }
                    None => hash_context(slot.key(), skip),
                };
                slot.insert(hash);
            }
        }
    }
    if let Some(cache) = opened {
        cache.save();
    }
    out
}

pub(super) fn image_resource(
    p: &Project,
    s: &Service,
    contexts: &HashMap<ContextKey, Result<String, String>>,
    skip: &[PathBuf],
    seal: Option<&SealKey>,
) -> Result<Resource, ResolveError> {
    let reference = image_reference(&p.name, s);
    let build = match &s.build {
        None => None,
        Some(b) => {
            let key = context_key(b);
            let hash = match contexts.get(&key) {
                Some(hashed) => hashed.clone(),
                // not hashed up front: only when called for a service resolve() did not select
                None => hash_context(&key, skip),
            }
            .map_err(|detail| ResolveError::Unreadable {
                what: "build context",
                path: b.context.clone(),
                detail,
            })?;
            let dockerfile_content = match (&b.dockerfile_inline, &b.dockerfile) {
                (Some(inline), _) => Some(inline.clone()),
                (None, Some(f)) => std::fs::read_to_string(Path::new(&b.context).join(f)).ok(),
                (None, None) => None,
            };
            Some(BuildSpec {
                context: b.context.clone(),
                context_hash: hash,
                dockerfile: b.dockerfile.clone(),
                dockerfile_content,
                args: b.args.clone(),
                target: b.target.clone(),
                labels: b.labels.clone(),
                network: b.network.clone(),
            })
        }
    };
    let spec = ImageSpec {
        reference: reference.clone(),
        pull_policy: s.pull_policy.clone(),
        build,
    };
    Ok(resource(
        Address::image(&s.name),
        reference,
        Spec::Image(Arc::new(spec)),
        vec![],
        false,
        seal,
    ))
}
