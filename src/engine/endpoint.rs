//! Where the engine is: the transport seam. An [`Endpoint`] is read once
//! from what the user set (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`; docker
//! contexts next) and [`Engine::connect_endpoint`](super::Engine) turns it
//! into a client. Separate so a new transport (ssh, TLS, a context's
//! endpoint) is one variant here and one arm in `connect`, and nothing
//! above the engine changes.

use super::error::{EngineError, UNSUPPORTED_SCHEME};

/// The engine's address when `DOCKER_HOST` is unset or empty (as for the
/// docker CLI on Linux).
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The port the docker CLI assumes for `tcp://HOST` without TLS.
const DEFAULT_TCP_PORT: u16 = 2375;

/// How to reach an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:///path/to/docker.sock`.
    Unix { host: String },
    /// `tcp://HOST[:PORT]`, plain HTTP (port 2375 when none is given).
    Tcp { host: String, address: String },
}

impl Endpoint {
    /// The endpoint the environment names: `DOCKER_HOST`, else [`DEFAULT_HOST`].
    ///
    /// `DOCKER_TLS_VERIFY` with a `tcp://` host is refused with a clear error
    /// rather than silently talking plain HTTP to a TLS port.
    pub fn from_env() -> Result<Endpoint, EngineError> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.trim().is_empty());
        let tls = std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty());
        if tls && host.as_deref().is_some_and(|h| h.starts_with("tcp://")) {
            return Err(EngineError::UnsupportedHost {
                host: host.unwrap_or_default(),
                reason: "DOCKER_TLS_VERIFY is set, but berth does not speak TLS to the engine yet (unset it, or use the unix socket)".to_string(),
            });
        }
        Endpoint::parse(host.as_deref().unwrap_or(DEFAULT_HOST))
    }

    /// A `DOCKER_HOST` value; an unknown scheme is refused before any I/O.
    pub fn parse(host: &str) -> Result<Endpoint, EngineError> {
        let host = host.trim().to_string();
        if host.starts_with("unix://") {
            Ok(Endpoint::Unix { host })
        } else if let Some(rest) = host.strip_prefix("tcp://") {
            let address = with_default_port(rest);
            Ok(Endpoint::Tcp { host, address })
        } else {
            Err(EngineError::UnsupportedHost {
                host,
                reason: UNSUPPORTED_SCHEME.to_string(),
            })
        }
    }

    /// The address as the user wrote it, named in every connection error.
    pub fn host(&self) -> &str {
        match self {
            Endpoint::Unix { host } | Endpoint::Tcp { host, .. } => host,
        }
    }
}

/// `tcp://HOST` means port 2375 to the docker CLI; bollard would use 80.
fn with_default_port(authority_and_path: &str) -> String {
    let authority = authority_and_path.split('/').next().unwrap_or("");
    let has_port = match authority.rfind(']') {
        // [::1]:2375 or [::1]
        Some(close) => authority[close..].contains(':'),
        None => authority.contains(':'),
    };
    if has_port {
        format!("tcp://{authority}")
    } else {
        format!("tcp://{authority}:{DEFAULT_TCP_PORT}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_hosts_default_to_port_2375() {
        assert_eq!(with_default_port("10.0.0.5"), "tcp://10.0.0.5:2375");
        assert_eq!(with_default_port("10.0.0.5:3000"), "tcp://10.0.0.5:3000");
        assert_eq!(with_default_port("[::1]"), "tcp://[::1]:2375");
        assert_eq!(with_default_port("[::1]:1234/"), "tcp://[::1]:1234");
    }

    #[test]
    fn docker_host_values_name_their_transport() {
        assert_eq!(
            Endpoint::parse(" unix:///run/docker.sock ").unwrap(),
            Endpoint::Unix {
                host: "unix:///run/docker.sock".into()
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://10.0.0.5").unwrap(),
            Endpoint::Tcp {
                host: "tcp://10.0.0.5".into(),
                address: "tcp://10.0.0.5:2375".into()
            }
        );
        let err = Endpoint::parse("ssh://me@example.com").unwrap_err();
        assert!(err.to_string().contains("`ssh://me@example.com`"), "{err}");
    }
}
