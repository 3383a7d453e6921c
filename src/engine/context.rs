//! The docker CLI's context store, read as the CLI reads it: the current
//! context from `$DOCKER_CONFIG/config.json`, and a context's endpoint from
//! `contexts/meta/<sha256 of its name>/meta.json`, with its TLS material (if
//! any) under `contexts/tls/<sha256 of its name>/docker/`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::endpoint::Environment;
use super::error::EngineError;

/// The docker CLI's configuration directory: `DOCKER_CONFIG`, else
/// `~/.docker`.
pub fn config_dir(env: &dyn Environment) -> PathBuf {
    match env.var("DOCKER_CONFIG").filter(|v| !v.trim().is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => env
            .home()
            .unwrap_or_else(|| PathBuf::from("/"))
            .join(".docker"),
    }
}

/// `currentContext` of `config.json` in `config`, if the file and the key
/// exist (and the key is not empty).
pub fn current(config: &Path) -> Result<Option<String>, EngineError> {
    let path = config.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(store_error(&path, &e.to_string())),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| store_error(&path, &e.to_string()))?;
    Ok(json
        .get("currentContext")
        .and_then(|v| v.as_str())
        .filter(|v| !v.is_empty())
        .map(str::to_string))
}

/// A context's docker endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEndpoint {
    pub host: String,
    pub skip_tls_verify: bool,
    /// The directory holding `ca.pem`, `cert.pem` and `key.pem`, when the
    /// context has TLS material.
    pub tls_dir: Option<PathBuf>,
}

/// The directory name of a context: the hex sha256 of its name.
fn id(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

/// Load the context `name` from the store in `config`; `chosen_by` says what
/// named it (for the message when it does not exist).
pub fn load(config: &Path, name: &str, chosen_by: &str) -> Result<ContextEndpoint, EngineError> {
    let id = id(name);
    let meta = config.join("contexts/meta").join(&id).join("meta.json");
    let text = match std::fs::read_to_string(&meta) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EngineError::UnsupportedHost {
                host: format!("context:{name}"),
                reason: format!(
                    "docker context `{name}` (from {chosen_by}) does not exist in {} (see `docker context ls`)",
                    config.join("contexts").display()
                ),
            });
        }
        Err(e) => return Err(store_error(&meta, &e.to_string())),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| store_error(&meta, &e.to_string()))?;
    let docker = json.pointer("/Endpoints/docker");
    let host = docker
        .and_then(|d| d.get("Host"))
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            store_error(
                &meta,
                &format!("context `{name}` has no docker endpoint (Endpoints.docker.Host)"),
            )
        })?;
    let skip_tls_verify = docker
        .and_then(|d| d.get("SkipTLSVerify"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let tls = config.join("contexts/tls").join(&id).join("docker");
    let has_tls = ["ca.pem", "cert.pem", "key.pem"]
        .iter()
        .any(|f| tls.join(f).is_file());
    Ok(ContextEndpoint {
        host: host.to_string(),
        skip_tls_verify,
        tls_dir: has_tls.then_some(tls),
    })
}

fn store_error(path: &Path, why: &str) -> EngineError {
    EngineError::UnsupportedHost {
        host: format!("{}", path.display()),
        reason: format!(
            "cannot read the docker context store: {why} (fix the file, or choose the engine with -H / DOCKER_HOST)"
        ),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Write a context as `docker context create` does; `tls`: `None` for
    /// no TLS material, `Some(skip_verify)` for a CA, certificate and key.
    pub fn write_context(config: &Path, name: &str, host: &str, tls: Option<bool>) {
        let dir = config.join("contexts/meta").join(id(name));
        std::fs::create_dir_all(&dir).unwrap();
        let meta = serde_json::json!({
            "Name": name,
            "Metadata": {},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": tls.unwrap_or(false)}},
        });
        std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
        if tls.is_some() {
            let tls = config.join("contexts/tls").join(id(name)).join("docker");
            std::fs::create_dir_all(&tls).unwrap();
            for f in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::write(tls.join(f), "pem").unwrap();
            }
        }
    }

    #[test]
    fn a_context_lives_under_the_sha256_of_its_name() {
        // as `docker context create staging` lays it out
        assert_eq!(
            id("staging"),
            "e919a75364398a449f860aeadddc57fa0502145a4e63959ddb33c417a48dc0da"
        );
        let config = tempfile::tempdir().unwrap();
        write_context(config.path(), "staging", "ssh://deploy@staging", None);
        let e = load(config.path(), "staging", "--context").unwrap();
        assert_eq!(e.host, "ssh://deploy@staging");
        assert_eq!(e.tls_dir, None);
    }

    #[test]
    fn current_context_is_read_from_config_json() {
        let config = tempfile::tempdir().unwrap();
        assert_eq!(current(config.path()).unwrap(), None);
        std::fs::write(config.path().join("config.json"), r#"{"auths":{}}"#).unwrap();
        assert_eq!(current(config.path()).unwrap(), None);
        std::fs::write(
            config.path().join("config.json"),
            r#"{"currentContext":"prod"}"#,
        )
        .unwrap();
        assert_eq!(current(config.path()).unwrap().as_deref(), Some("prod"));
        std::fs::write(config.path().join("config.json"), "{not json").unwrap();
        let err = current(config.path()).unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains("cannot read the docker context store"),
            "{err}"
        );
    }

    #[test]
    fn a_context_without_a_docker_endpoint_is_an_error() {
        let config = tempfile::tempdir().unwrap();
        let dir = config.path().join("contexts/meta").join(id("k8s"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("meta.json"), r#"{"Name":"k8s","Endpoints":{}}"#).unwrap();
        let err = load(config.path(), "k8s", "--context")
            .unwrap_err()
            .to_string();
        assert!(err.contains("has no docker endpoint"), "{err}");
    }
}
