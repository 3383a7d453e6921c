//! Resolving a project for Docker Swarm: the networks (overlay unless the
//! file names a driver, as `docker stack deploy` makes them), volumes and
//! images as on the plain engine, then per service its configs and secrets
//! (objects named after their content) and one service resource.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::container::file_hashes;
use super::image::image_resource;
use super::resolve::shared_resources;
use super::{Desired, ResolveError, ResolveOptions, Resource, resource};
use crate::compose::model::{FileObject, Project};
use crate::resource::address::{Address, Kind};
use crate::resource::spec::Spec;
use crate::resource::swarm::{FileObjectSpec, ServiceSpec, convert, object_name};

/// Resolve the project into the resources of a Swarm stack.
pub fn resolve_swarm(p: &Project, opts: &ResolveOptions) -> Result<Desired, ResolveError> {
    let (mut out, selected) = shared_resources(p, opts)?;
    // networks are overlay networks unless the file says otherwise
    for r in out.resources.values_mut() {
        if let Some(net) = r.typed().network()
            && net.driver.is_none()
            && !r.external
        {
            let mut net = net.clone();
            net.driver = Some("overlay".into());
            *r = resource(
                r.address.clone(),
                r.engine_name.clone(),
                Spec::Network(Arc::new(net)),
                vec![],
                false,
                None,
            );
        }
    }
    let seal = opts.seal.as_deref();
    for name in &selected.names {
        let s = &p.services[name];
        let image = image_resource(p, s, &selected.contexts, &opts.context_skip, seal)?;
        let hashes = file_hashes(p, s)?;
        let mut configs = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        let mut uses = BTreeMap::new();
        let mut depends_on = vec![image.address.clone()];
        uses.insert(image.address.to_string(), image.spec_hash.clone());
        for (kind, mounts, objects, names) in [
            (Kind::Config, &s.configs, &p.configs, &mut configs),
            (Kind::Secret, &s.secrets, &p.secrets, &mut secrets),
        ] {
            for m in mounts {
                let Some(obj) = objects.get(&m.source) else {
                    continue;
                };
                let address = Address::swarm(kind, &m.source);
                let r = match out.resources.get(&address) {
                    Some(r) => r,
                    None => {
                        let key = format!("{}.{}", kind.as_str(), m.source);
                        let r = file_object(kind, &m.source, obj, hashes.get(&key), opts);
                        out.resources.entry(address.clone()).or_insert(r)
                    }
                };
                names.insert(m.source.clone(), r.engine_name.clone());
                uses.insert(address.to_string(), r.spec_hash.clone());
                depends_on.push(address);
            }
        }
        for key in s.networks.keys() {
            let a = Address::network(key);
            if let Some(r) = out.resources.get(&a) {
                uses.insert(a.to_string(), r.spec_hash.clone());
                depends_on.push(a);
            }
        }
        for v in s.volumes.iter().filter_map(|m| m.source.as_deref()) {
            let a = Address::volume(v);
            if out.resources.contains_key(&a) && !depends_on.contains(&a) {
                depends_on.push(a);
            }
        }
        let replicas = selected.replicas.get(name).copied().unwrap_or(1);
        let names = convert::Names {
            project: p,
            replicas,
            configs: &configs,
            secrets: &secrets,
        };
        let service = convert::service_spec(s, &image.engine_name, &names)?;
        let spec = ServiceSpec {
            engine_name: format!("{}_{}", p.name, s.name),
            service,
            image: image.engine_name.clone(),
            uses,
        };
        let r = resource(
            Address::swarm(Kind::Service, name),
            spec.engine_name.clone(),
            Spec::Service(Arc::new(spec)),
            depends_on,
            false,
            seal,
        );
        out.resources.insert(image.address.clone(), image);
        out.resources.insert(r.address.clone(), r);
    }
    Ok(out)
}

/// A config or secret: named after its content (a secret's content by its
/// keyed hash, so the name says nothing of a guessable value).
fn file_object(
    kind: Kind,
    key: &str,
    obj: &FileObject,
    hash: Option<&String>,
    opts: &ResolveOptions,
) -> Resource {
    let address = Address::swarm(kind, key);
    if obj.external {
        let spec = FileObjectSpec {
            name: obj.name.clone(),
            compose_name: obj.name.clone(),
            content: String::new(),
            source: "external".into(),
            labels: obj.labels.clone(),
        };
        return resource(
            address,
            obj.name.clone(),
            Spec::Object(Arc::new(spec)),
            vec![],
            true,
            None,
        );
    }
    let hash = hash.cloned().unwrap_or_default();
    let content = match (&opts.seal, kind) {
        (Some(key), Kind::Secret) => key
            .seal_value(&Value::String(hash))
            .as_str()
            .unwrap_or_default()
            .to_string(),
        _ => hash,
    };
    let source = if let Some(f) = &obj.file {
        format!("file:{f}")
    } else if let Some(var) = &obj.environment {
        format!("environment:{var}")
    } else {
        "content".into()
    };
    let spec = FileObjectSpec {
        name: object_name(&obj.name, &content),
        compose_name: obj.name.clone(),
        content,
        source,
        labels: obj.labels.clone(),
    };
    resource(
        address,
        spec.name.clone(),
        Spec::Object(Arc::new(spec)),
        vec![],
        false,
        None,
    )
}
