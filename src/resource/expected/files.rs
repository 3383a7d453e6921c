//! The configs and secrets a container uses: the file-based ones bound
//! read-only ([`file_mounts`]), the ones from `content:` or `environment:`
//! copied in after create ([`injected_files`]).
//!
//! Separate because apply reads them apart from the create body: it binds the
//! files, then copies the injected ones into the created container.

use super::names::Names;
use crate::resource::spec::ContainerSpec;

/// A config or secret given by `content:` or `environment:`: copied into the
/// container after create, as compose does (`injectFileReferences`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// Absolute path in the container.
    pub target: String,
    pub content: Vec<u8>,
    /// 0444 unless `mode` says otherwise.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// The configs and secrets `spec` takes from `content:` or `environment:`
/// (an empty text is left out, as compose leaves it out).
pub fn injected_files(spec: &ContainerSpec, names: &dyn Names) -> Vec<Injected> {
    let mut out = Vec::new();
    for (secret, list) in [
        (false, &spec.service.configs),
        (true, &spec.service.secrets),
    ] {
        for m in list {
            let Some(text) = names.inline(secret, &m.source).filter(|t| !t.is_empty()) else {
                continue;
            };
            let target = match &m.target {
                None if secret => format!("/run/secrets/{}", m.source),
                None => format!("/{}", m.source),
                Some(t) if secret && !t.starts_with('/') => format!("/run/secrets/{t}"),
                Some(t) => t.clone(),
            };
            out.push(Injected {
                target,
                content: text.into_bytes(),
                mode: m.mode.unwrap_or(0o444),
                uid: m.uid.as_deref().and_then(|u| u.parse().ok()).unwrap_or(0),
                gid: m.gid.as_deref().and_then(|g| g.parse().ok()).unwrap_or(0),
            });
        }
    }
    out
}

/// The file-based configs and secrets `spec` uses, as (host file, target in
/// the container): configs at `/<name>`, secrets at `/run/secrets/<name>`
/// unless `target` says otherwise. Configs and secrets from `content` or
/// `environment` have no file: the caller writes one and adds it.
pub fn file_mounts(spec: &ContainerSpec, names: &dyn Names) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (secret, list, dir) in [
        (false, &spec.service.configs, "/"),
        (true, &spec.service.secrets, "/run/secrets/"),
    ] {
        for m in list {
            let Some(file) = names.file(secret, &m.source) else {
                continue;
            };
            let target = match &m.target {
                Some(t) if t.starts_with('/') => t.clone(),
                Some(t) => format!("{dir}{t}"),
                None => format!("{dir}{}", m.source),
            };
            out.push((file, target));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::expected::spec_of;

    #[test]
    fn configs_and_secrets_from_content_are_copied_in_where_compose_puts_them() {
        let (project, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    configs: [greeting]\n    secrets:\n      - source: token\n        target: api\n        mode: 0400\n        uid: '10'\nconfigs:\n  greeting:\n    content: hello\nsecrets:\n  token:\n    content: s3cret\n",
            "container.app[1]",
        );
        let files = injected_files(&spec, &project);
        assert_eq!(
            files,
            [
                Injected {
                    target: "/greeting".into(),
                    content: b"hello".to_vec(),
                    mode: 0o444,
                    uid: 0,
                    gid: 0
                },
                Injected {
                    target: "/run/secrets/api".into(),
                    content: b"s3cret".to_vec(),
                    mode: 0o400,
                    uid: 10,
                    gid: 0
                },
            ]
        );
        assert!(file_mounts(&spec, &project).is_empty());
    }

    #[test]
    fn a_secret_from_environment_is_the_variable_compose_reads_not_berths_own() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = "services:\n  app:\n    image: demo\n    secrets: [tok]\nsecrets:\n  tok:\n    environment: BERTH_TEST_TOKEN_ONLY_IN_THE_SHELL_GIVEN\n";
        std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
        let project = crate::compose::load(crate::compose::LoadOptions {
            working_dir: dir.path().to_path_buf(),
            project_name: Some("demo".into()),
            environ: [(
                "BERTH_TEST_TOKEN_ONLY_IN_THE_SHELL_GIVEN".to_string(),
                "s3cret".to_string(),
            )]
            .into(),
            ..Default::default()
        })
        .unwrap()
        .project;
        let desired = crate::resource::resolve(&project, &Default::default()).unwrap();
        let r = &desired.resources[&"container.app[1]".parse().unwrap()];
        let spec = r.typed().container().unwrap().clone();
        let files = injected_files(&spec, &project);
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].target, "/run/secrets/tok");
        assert_eq!(files[0].content, b"s3cret");
    }
}
