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
        // `<project>_<service>`, as the converter names it
        let engine_name = service.name.clone().unwrap_or_default();
        let spec = ServiceSpec {
            service,
            image: image.engine_name.clone(),
            uses,
        };
        let r = resource(
            Address::swarm(Kind::Service, name),
            engine_name,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stack(yaml: &str) -> Desired {
        let p = crate::compose::project_from_yaml(yaml, "shop");
        resolve_swarm(&p, &ResolveOptions::default()).unwrap()
    }

    fn service(d: &Desired, name: &str) -> Value {
        let r = &d.resources[&Address::swarm(Kind::Service, name)];
        serde_json::to_value(&r.typed().service().unwrap().service).unwrap()
    }

    const WEB: &str = "services:\n  web:\n    image: web:1\n    entrypoint: [/app]\n    command: [serve, --port, \"80\"]\n    environment: {B: \"2\", A: \"1\", EMPTY: null}\n    labels: {role: front}\n    ports: [\"8080:80\", {target: 81, published: \"9090\", mode: host}]\n    restart: on-failure:3\n    networks:\n      back: {aliases: [www]}\n    configs: [site]\n    deploy:\n      replicas: 3\n      labels: {team: a}\n      update_config: {parallelism: 2, order: start-first}\nnetworks:\n  back: {}\nconfigs:\n  site:\n    content: hello\n";

    #[test]
    fn a_service_is_converted_as_docker_stack_deploy_converts_it() {
        let d = stack(WEB);
        let spec = service(&d, "web");
        assert_eq!(spec["Name"], "shop_web");
        assert_eq!(
            spec["Labels"],
            json!({"com.docker.stack.image": "web:1", "com.docker.stack.namespace": "shop", "team": "a"})
        );
        let c = &spec["TaskTemplate"]["ContainerSpec"];
        assert_eq!(c["Image"], "web:1");
        assert_eq!(c["Command"], json!(["/app"]));
        assert_eq!(c["Args"], json!(["serve", "--port", "80"]));
        assert_eq!(c["Env"], json!(["A=1", "B=2", "EMPTY"]));
        assert_eq!(
            c["Labels"],
            json!({"com.docker.stack.namespace": "shop", "role": "front"})
        );
        assert_eq!(c["Configs"][0]["File"]["Name"], "site");
        assert_eq!(
            spec["TaskTemplate"]["Networks"],
            json!([{"Target": "shop_back", "Aliases": ["web", "www"]}])
        );
        assert_eq!(
            spec["TaskTemplate"]["RestartPolicy"],
            json!({"Condition": "on-failure", "MaxAttempts": 3})
        );
        assert_eq!(spec["Mode"], json!({"Replicated": {"Replicas": 3}}));
        assert_eq!(spec["UpdateConfig"]["Parallelism"], 2);
        assert_eq!(spec["UpdateConfig"]["Order"], "start-first");
        assert_eq!(
            spec["EndpointSpec"]["Ports"],
            json!([
                {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"},
                {"Protocol": "tcp", "TargetPort": 81, "PublishedPort": 9090, "PublishMode": "host"}
            ])
        );
    }

    #[test]
    fn networks_are_overlay_and_objects_are_named_after_their_content() {
        let d = stack(WEB);
        let net = &d.resources[&Address::network("back")];
        assert_eq!(
            net.typed().network().unwrap().driver.as_deref(),
            Some("overlay")
        );
        let site = &d.resources[&Address::swarm(Kind::Config, "site")];
        assert!(
            site.engine_name.starts_with("shop_site-"),
            "{}",
            site.engine_name
        );
        let changed = stack(&WEB.replace("content: hello", "content: bye"));
        let site2 = &changed.resources[&Address::swarm(Kind::Config, "site")];
        assert_ne!(site.engine_name, site2.engine_name);
        // the service names the new object, and its hash changes with it
        let web = Address::swarm(Kind::Service, "web");
        assert_ne!(
            d.resources[&web].spec_hash,
            changed.resources[&web].spec_hash
        );
        assert_eq!(
            service(&changed, "web")["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"],
            site2.engine_name.as_str()
        );
        assert!(
            d.resources[&web]
                .depends_on
                .iter()
                .any(|a| *a == Address::swarm(Kind::Config, "site"))
        );
    }

    #[test]
    fn sensitive_environment_values_are_sealed_in_the_recorded_spec() {
        let p = crate::compose::project_from_yaml(
            "services:\n  api:\n    image: api\n    environment: {DB_PASSWORD: hunter2, MODE: prod}\n",
            "shop",
        );
        let key = std::sync::Arc::new(crate::resource::sensitive::SealKey::from_bytes([7; 32]));
        let d = resolve_swarm(
            &p,
            &ResolveOptions {
                seal: Some(key),
                ..Default::default()
            },
        )
        .unwrap();
        let r = &d.resources[&Address::swarm(Kind::Service, "api")];
        let recorded = r.recorded().to_string();
        assert!(!recorded.contains("hunter2"), "{recorded}");
        assert!(recorded.contains("MODE=prod"));
        // the engine is given the value
        assert!(r.spec.value().to_string().contains("DB_PASSWORD=hunter2"));
    }
}
