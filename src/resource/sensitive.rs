//! Values that must never be written down: what counts as sensitive, and
//! sealing them with a keyed hash.
//!
//! Sensitive: an environment variable or build argument whose name contains,
//! case-insensitively, `PASSWORD`, `PASSWD`, `PASS`, `SECRET`, `TOKEN`, `KEY`,
//! `CREDENTIAL`, `AUTH` or `PRIVATE`, and the content hash of every secret
//! file (`files.secret.*`).
//!
//! A sealed spec has each sensitive value replaced by
//! `hmac-sha256:<hex>`, the HMAC-SHA256 of the value's JSON text under the
//! project's [`SealKey`]. The recorded spec and its hash (the state, saved
//! plans, labels, every spec that names another's hash) are of the sealed
//! spec, so a changed value still changes the hash and the plan still says
//! `(sensitive)` changed, but no file berth writes holds the value, and
//! without the key a low-entropy value cannot be guessed from its hash. The
//! spec the engine is given keeps the values.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The prefix of a sealed value.
pub const SEALED_PREFIX: &str = "hmac-sha256:";

const WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
];

/// Whether a variable name looks like it holds a secret.
pub fn is_sensitive_name(name: &str) -> bool {
    // asked for every environment variable of every resource: compare in
    // place instead of upper-casing a copy
    // one pass over the name: only where a word's first letter stands are
    // the words compared
    let name = name.as_bytes();
    (0..name.len()).any(|i| {
        let rest = &name[i..];
        let first = rest[0].to_ascii_uppercase();
        WORDS.iter().any(|w| {
            let w = w.as_bytes();
            w[0] == first && rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w)
        })
    })
}

/// The key sensitive values are sealed with: 32 bytes, from the team's
/// `BERTH_STATE_KEY` or a key file kept beside the state (see
/// `state::key`).
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealKey({})", self.id())
    }
}

impl SealKey {
    /// The key of a passphrase (`BERTH_STATE_KEY`): sha256 of it, labelled.
    pub fn from_passphrase(text: &str) -> SealKey {
        let mut h = Sha256::new();
        h.update(b"berth state key\0");
        h.update(text.as_bytes());
        SealKey(h.finalize().into())
    }

    /// The key of 32 raw bytes (a key file).
    pub fn from_bytes(bytes: [u8; 32]) -> SealKey {
        SealKey(bytes)
    }

    /// The key's bytes, for writing its file.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A short public name of the key (recorded in the state, so that a plan
    /// with another key is refused instead of replacing every container with
    /// a secret): the first 16 hex digits of its HMAC of a fixed label.
    pub fn id(&self) -> String {
        let mut id = self.mac(b"berth key id");
        id.truncate(16);
        id
    }

    fn mac(&self, data: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    /// `value` sealed: `hmac-sha256:<hex>` of its JSON text. A value sealed
    /// already is left as it is.
    pub fn seal_value(&self, value: &Value) -> Value {
        if let Value::String(s) = value
            && s.starts_with(SEALED_PREFIX)
        {
            return value.clone();
        }
        let text = serde_json::to_string(value).expect("a JSON value serialises");
        Value::String(format!("{SEALED_PREFIX}{}", self.mac(text.as_bytes())))
    }
}

/// The top-level keys of a spec under which sensitive values sit (the
/// environment, build arguments, secret files, a Swarm service's
/// environment): what sealing and masking read, so a spec held as text is
/// read only that far to tell whether they have anything to do.
pub const HOLDERS: &[&str] = &["build", "environment", "files", "service"];

/// Where a Swarm service spec keeps its environment: a list of `K=V`.
pub const SERVICE_ENV: &str = "/service/TaskTemplate/ContainerSpec/Env";

/// `list` (a Swarm service's `K=V` environment) with every sensitive
/// value that `open` says is still readable replaced by `to(value)`;
/// `None` when there is none.
pub fn rewrite_env_list(
    list: &Value,
    open: impl Fn(&str) -> bool,
    to: impl Fn(&str) -> String,
) -> Option<Value> {
    let items = list.as_array()?;
    fn entry(e: &Value) -> Option<(&str, &str)> {
        e.as_str()?.split_once('=')
    }
    let sensitive = |e: &Value| entry(e).is_some_and(|(k, v)| is_sensitive_name(k) && open(v));
    if !items.iter().any(sensitive) {
        return None;
    }
    Some(Value::Array(
        items
            .iter()
            .map(|e| match entry(e) {
                Some((k, v)) if sensitive(e) => Value::String(format!("{k}={}", to(v))),
                _ => e.clone(),
            })
            .collect(),
    ))
}

/// A Swarm service spec's (the engine's JSON) environment values sealed
/// under `key`, as the recorded spec holds them, so the two compare.
pub fn seal_service_env(spec: &mut Value, key: &SealKey) {
    if let Some(list) = spec.pointer_mut("/TaskTemplate/ContainerSpec/Env")
        && let Some(sealed) = rewrite_env_list(list, not_sealed, |v| {
            key.seal_value(&Value::String(v.into()))
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
    {
        *list = sealed;
    }
}

fn not_sealed(v: &str) -> bool {
    !v.starts_with(SEALED_PREFIX)
}

/// Whether a spec holds a sensitive value that is not sealed yet.
pub fn needs_seal(spec: &Value) -> bool {
    if spec
        .pointer(SERVICE_ENV)
        .and_then(|l| rewrite_env_list(l, not_sealed, str::to_string))
        .is_some()
    {
        return true;
    }
    let open =
        |v: &Value| !v.is_null() && !v.as_str().is_some_and(|s| s.starts_with(SEALED_PREFIX));
    let named = |m: Option<&Value>| {
        m.and_then(Value::as_object)
            .is_some_and(|m| m.iter().any(|(k, v)| open(v) && is_sensitive_name(k)))
    };
    let secret_files = spec
        .get("files")
        .and_then(Value::as_object)
        .is_some_and(|m| m.iter().any(|(k, v)| k.starts_with("secret.") && open(v)));
    named(spec.get("environment")) || named(spec.pointer("/build/args")) || secret_files
}

/// `spec` with every sensitive value sealed under `key`; `None` when it
/// holds none that is not sealed already (most specs).
pub fn seal(spec: &Value, key: &SealKey) -> Option<Value> {
    if !needs_seal(spec) {
        return None;
    }
    let mut out = spec.clone();
    if let Some(list) = out.pointer_mut(SERVICE_ENV)
        && let Some(sealed) = rewrite_env_list(list, not_sealed, |v| {
            key.seal_value(&Value::String(v.into()))
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
    {
        *list = sealed;
    }
    let seal_named = |m: Option<&mut Value>| {
        if let Some(Value::Object(m)) = m {
            for (k, v) in m.iter_mut() {
                if is_sensitive_name(k) && !v.is_null() {
                    *v = key.seal_value(v);
                }
            }
        }
    };
    seal_named(out.get_mut("environment"));
    seal_named(out.pointer_mut("/build/args"));
    if let Some(Value::Object(files)) = out.get_mut("files") {
        for (k, v) in files.iter_mut() {
            if k.starts_with("secret.") {
                *v = key.seal_value(v);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sensitive_names_are_found_wherever_the_word_stands() {
        // the plain definition: some word, anywhere, in any case
        let plain = |name: &str| {
            let name = name.to_ascii_uppercase();
            WORDS.iter().any(|w| name.contains(w))
        };
        let parts = [
            "",
            "a",
            "_",
            "pass",
            "PASSWORD",
            "db_",
            "Token",
            "KE",
            "y",
            "AUTH",
            "x9",
            "pRiVaTe",
            "é",
            "credentia",
            "l",
            "SECRE",
            "T",
        ];
        for a in parts {
            for b in parts {
                for c in parts {
                    let name = format!("{a}{b}{c}");
                    assert_eq!(is_sensitive_name(&name), plain(&name), "{name}");
                }
            }
        }
    }

    fn key() -> SealKey {
        SealKey::from_passphrase("team secret")
    }

    #[test]
    fn sensitive_values_are_sealed_and_nothing_else() {
        let spec = json!({
            "environment": {"DB_PASSWORD": "hunter2", "API_TOKEN": "t0k", "MODE": "prod", "EMPTY_KEY": null},
            "build": {"args": {"NPM_TOKEN": "abc", "VERSION": "1"}},
            "files": {"secret.db": "sha256-of-content", "config.app": "sha256-of-config"},
            "image": "web"
        });
        let sealed = seal(&spec, &key()).unwrap();
        let text = sealed.to_string();
        for secret in ["hunter2", "t0k", "abc", "sha256-of-content"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(sealed["environment"]["MODE"], "prod");
        assert_eq!(sealed["environment"]["EMPTY_KEY"], Value::Null);
        assert_eq!(sealed["build"]["args"]["VERSION"], "1");
        assert_eq!(sealed["files"]["config.app"], "sha256-of-config");
        let pw = sealed["environment"]["DB_PASSWORD"].as_str().unwrap();
        assert!(
            pw.starts_with(SEALED_PREFIX) && pw.len() == SEALED_PREFIX.len() + 64,
            "{pw}"
        );
        // sealing is deterministic, idempotent, and keyed
        assert_eq!(seal(&spec, &key()), Some(sealed.clone()));
        assert_eq!(seal(&sealed, &key()), None, "nothing left to seal");
        let other = seal(&spec, &SealKey::from_passphrase("other")).unwrap();
        assert_ne!(
            other["environment"]["DB_PASSWORD"],
            sealed["environment"]["DB_PASSWORD"]
        );
        // a changed value seals differently
        let mut changed = spec.clone();
        changed["environment"]["DB_PASSWORD"] = json!("hunter3");
        assert_ne!(
            seal(&changed, &key()).unwrap()["environment"]["DB_PASSWORD"],
            sealed["environment"]["DB_PASSWORD"]
        );
    }

    #[test]
    fn a_spec_without_secrets_is_not_copied() {
        assert_eq!(
            seal(&json!({"environment": {"MODE": "x"}, "image": "a"}), &key()),
            None
        );
    }

    #[test]
    fn key_ids_are_short_stable_and_differ_by_key() {
        assert_eq!(key().id(), key().id());
        assert_eq!(key().id().len(), 16);
        assert_ne!(key().id(), SealKey::from_passphrase("x").id());
        assert!(!format!("{:?}", key()).contains(&hex::encode(key().bytes())));
    }
}
