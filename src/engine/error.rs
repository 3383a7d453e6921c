//! Errors from the Docker engine, each a single line a person can act on.
//!
//! bollard's errors nest hyper's, which nest the OS error; printed as they are
//! they read "Error in the hyper legacy client: client error (Connect)". Here
//! they are classified once ([`EngineError::from_bollard`]) into what the user
//! can do something about: the engine is not there, the socket is not theirs,
//! the engine refused an operation (with its own message), or it answered
//! something we could not read. Fields are plain strings, so even a `{:?}`
//! print stays short.

use std::io;

use super::endpoint::{Endpoint, Transport};

/// What went wrong talking to the Docker engine. `Display` is one line that
/// names the engine's address (or the operation) and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Nothing answers at the address: no socket file, connection refused,
    /// connection reset.
    #[error(
        "cannot reach the Docker engine at {host}: {cause} (is dockerd running? start it, or set DOCKER_HOST)"
    )]
    Unreachable { host: String, cause: String },

    /// Connecting failed: `endpoint` names the address and where it came
    /// from (flag, environment, context), `check` what to look at for this
    /// transport.
    #[error("cannot connect to the Docker engine at {endpoint}: {cause} ({check})")]
    Connect {
        endpoint: String,
        cause: String,
        check: String,
    },

    /// The socket exists but this user may not open it.
    #[error("permission denied on {host} (add your user to the docker group, or run as root)")]
    PermissionDenied { host: String },

    /// `DOCKER_HOST` names a transport berth does not speak (yet).
    #[error("unsupported Docker host `{host}`: {reason}")]
    UnsupportedHost { host: String, reason: String },

    /// The engine took longer than the request timeout.
    #[error(
        "the Docker engine at {host} did not answer within {secs} s while trying to {doing} (is it overloaded or hung? COMPOSE_HTTP_TIMEOUT=SECONDS waits longer)"
    )]
    Timeout {
        host: String,
        doing: String,
        secs: u64,
    },

    /// The engine refused an operation; `message` is the engine's own.
    #[error("failed to {doing}: {message}")]
    Api {
        doing: String,
        /// HTTP status of the engine's answer (404: no such object, 409: conflict, ...).
        status: u16,
        message: String,
    },

    /// The engine did what was asked, but the outcome is a failure berth
    /// detected itself: a build step failed, a container turned unhealthy or
    /// did not within its bound, an image cannot be pulled.
    #[error("failed to {doing}: {message}")]
    Failed { doing: String, message: String },

    /// The engine answered, but not in a form we understand (or the transport
    /// broke in an unexpected way).
    #[error("failed to {doing}: unexpected answer from the Docker engine at {host}: {message}")]
    Protocol {
        host: String,
        doing: String,
        message: String,
    },
}

impl EngineError {
    /// Classify a bollard error from `doing` (e.g. "inspect container `web`")
    /// against the engine at `host`; `timeout_secs` is the request timeout in
    /// force, for the message.
    pub(crate) fn from_bollard(
        host: &str,
        doing: &str,
        timeout_secs: u64,
        err: bollard::errors::Error,
    ) -> EngineError {
        use bollard::errors::Error as B;
        let host = host.to_string();
        match err {
            B::DockerResponseServerError {
                status_code,
                message,
            } => EngineError::Api {
                doing: doing.to_string(),
                status: status_code,
                message: one_line(&message),
            },
            // bollard checks that the socket file exists before connecting.
            B::SocketNotFoundError(_) => EngineError::Unreachable {
                host,
                cause: "no such file".to_string(),
            },
            B::UnsupportedURISchemeError { .. } => EngineError::UnsupportedHost {
                host,
                reason: UNSUPPORTED_SCHEME.to_string(),
            },
            B::RequestTimeoutError => EngineError::Timeout {
                host,
                doing: doing.to_string(),
                secs: timeout_secs,
            },
            B::JsonDataError { message, .. } => EngineError::Protocol {
                host,
                doing: doing.to_string(),
                message: one_line(&message),
            },
            B::IOError { err } => io_error(host, err.kind(), &err),
            other => match io_kind(&other) {
                Some(kind) => io_error(host, kind, &other),
                None => EngineError::Protocol {
                    host,
                    doing: doing.to_string(),
                    message: innermost(&other),
                },
            },
        }
    }

    /// The engine said the object does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, EngineError::Api { status: 404, .. })
    }

    /// The engine refused because of a conflict (HTTP 409: a container name
    /// already in use, ...).
    pub fn is_conflict(&self) -> bool {
        matches!(self, EngineError::Api { status: 409, .. })
    }
}

impl EngineError {
    /// A failure to connect to `endpoint`, from the classified `err`.
    pub(crate) fn connect(endpoint: &Endpoint, err: &EngineError) -> EngineError {
        let cause = match err {
            EngineError::Unreachable { cause, .. } => cause.clone(),
            EngineError::PermissionDenied { .. } => "permission denied".to_string(),
            EngineError::Timeout { secs, .. } => format!("no answer within {secs} s"),
            EngineError::Api {
                status, message, ..
            } => format!("the engine answered {status}: {message}"),
            EngineError::Protocol { message, .. } | EngineError::Failed { message, .. } => {
                message.clone()
            }
            EngineError::UnsupportedHost { .. } | EngineError::Connect { .. } => {
                return err.clone();
            }
        };
        let check = match (err, &endpoint.transport) {
            (EngineError::PermissionDenied { .. }, Transport::Unix { .. }) => {
                "add your user to the docker group, or run as root".to_string()
            }
            _ => EngineError::check(endpoint),
        };
        EngineError::Connect {
            endpoint: endpoint.describe(),
            cause,
            check,
        }
    }

    /// What to check when connecting to `endpoint` fails.
    pub(crate) fn check(endpoint: &Endpoint) -> String {
        match &endpoint.transport {
            Transport::Unix { .. } => "is dockerd running? start it, or choose another engine with -H, DOCKER_HOST or --context".to_string(),
            Transport::Tcp { .. } => "is the engine listening there? a TLS port needs DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH".to_string(),
            Transport::Tls { files, .. } => format!(
                "check the certificates in {}: ca.pem must have signed the engine's certificate, and cert.pem with key.pem must be a client certificate the engine trusts and still valid",
                files.dir.display()
            ),
            Transport::Ssh(target) => format!(
                "check that `{}` works: the key, known_hosts, and docker on that host",
                target.check_command()
            ),
        }
    }
}

/// An OS-level failure talking to the engine: the socket is missing, not
/// ours, refused, or the connection broke.
fn io_error(
    host: String,
    kind: io::ErrorKind,
    err: &(dyn std::error::Error + 'static),
) -> EngineError {
    let cause = match kind {
        io::ErrorKind::PermissionDenied => return EngineError::PermissionDenied { host },
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        _ => innermost(err),
    };
    EngineError::Unreachable { host, cause }
}

/// The transports berth speaks, for the unsupported-host message.
pub(crate) const UNSUPPORTED_SCHEME: &str =
    "berth connects over unix://, tcp:// (TLS with DOCKER_TLS_VERIFY) and ssh://";

/// The kind of the first `io::Error` in the source chain, if any (hyper wraps
/// the OS error of a failed connect a few levels deep).
fn io_kind(err: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        cur = e.source();
    }
    None
}

/// The Display of the deepest error in the chain: the specific cause, not
/// the wrappers' "client error (Connect)".
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut e = err;
    while let Some(next) = e.source() {
        e = next;
    }
    let text = one_line(&e.to_string());
    // "Connection reset by peer (os error 104)": the number helps nobody.
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    };
    lowercase_first(&text)
}

/// Collapse a message onto one line.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// "Connection reset by peer" -> "connection reset by peer"; leaves
/// acronyms ("HTTP ...") alone.
fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && b.is_lowercase() => {
            a.to_lowercase().chain(s[a.len_utf8()..].chars()).collect()
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::errors::Error as B;

    const SOCK: &str = "unix:///var/run/docker.sock";

    fn classify(err: B) -> String {
        EngineError::from_bollard(SOCK, "list containers", 120, err).to_string()
    }

    #[test]
    fn missing_socket_names_it_and_says_what_to_do() {
        assert_eq!(
            classify(B::SocketNotFoundError("/var/run/docker.sock".into())),
            "cannot reach the Docker engine at unix:///var/run/docker.sock: no such file (is dockerd running? start it, or set DOCKER_HOST)"
        );
    }

    #[test]
    fn permission_denied_deep_in_the_chain() {
        let err = B::IOError {
            err: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(
            classify(err),
            "permission denied on unix:///var/run/docker.sock (add your user to the docker group, or run as root)"
        );
    }

    #[test]
    fn connection_refused_and_other_io_errors_are_unreachable() {
        let refused = B::IOError {
            err: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert!(classify(refused).contains(": connection refused (is dockerd running?"));
        let reset = B::IOError {
            err: io::Error::other("Connection reset by peer"),
        };
        assert!(
            classify(reset).starts_with(
                "cannot reach the Docker engine at unix:///var/run/docker.sock: connection reset by peer ("
            )
        );
    }

    #[test]
    fn engine_refusals_keep_the_engine_message_on_one_line() {
        let err = EngineError::from_bollard(
            SOCK,
            "inspect container `web`",
            120,
            B::DockerResponseServerError {
                status_code: 404,
                message: "No such container: web\n".into(),
            },
        );
        assert!(err.is_not_found());
        assert_eq!(
            err.to_string(),
            "failed to inspect container `web`: No such container: web"
        );
    }

    #[test]
    fn timeouts_say_how_long_and_what() {
        assert_eq!(
            classify(B::RequestTimeoutError),
            "the Docker engine at unix:///var/run/docker.sock did not answer within 120 s while trying to list containers (is it overloaded or hung? COMPOSE_HTTP_TIMEOUT=SECONDS waits longer)"
        );
    }

    #[test]
    fn unsupported_scheme() {
        let err = EngineError::from_bollard(
            "npipe://x",
            "connect",
            120,
            B::UnsupportedURISchemeError {
                uri: "npipe://x".into(),
            },
        );
        assert!(err.to_string().starts_with(
            "unsupported Docker host `npipe://x`: berth connects over unix://, tcp://"
        ));
    }
}
