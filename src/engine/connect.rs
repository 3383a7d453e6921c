//! Connecting to the engine as the docker CLI would (the [`Endpoint`]:
//! `--host`, `--context`, `DOCKER_HOST`, `DOCKER_CONTEXT`, the current
//! context, the default socket), over unix, tcp, TLS or ssh, then negotiating
//! the API version (its answer is the proof that the engine is there).
//!
//! bollard speaks API 1.53 by default; Docker 20.10 speaks at most 1.41, so
//! the version is negotiated down (`negotiate_version`) before anything else.
//!
//! bollard 0.21 builds each request URL as `base/v1.53` joined with an
//! absolute path (`/containers/json`), which drops the version: every request
//! goes out unversioned and the engine answers at *its* newest API, whatever
//! was negotiated. [`pin_api_version`] puts the negotiated `/v1.41` back on
//! every request, so the engine answers in the version berth believes it
//! speaks (and a newer engine cannot change semantics under us).

use std::time::Duration;

use bollard::{ClientVersion, Docker};

use super::endpoint::{Endpoint, Selection, Transport};
use super::error::EngineError;

/// Requests that take longer than this fail with [`EngineError::Timeout`],
/// unless `COMPOSE_HTTP_TIMEOUT` (seconds, as docker-compose reads it) says
/// otherwise.
pub(crate) const REQUEST_TIMEOUT_SECS: u64 = 120;

/// How long a request may take: `COMPOSE_HTTP_TIMEOUT` seconds, else
/// [`REQUEST_TIMEOUT_SECS`].
fn request_timeout(endpoint: &Endpoint) -> Result<u64, EngineError> {
    match std::env::var("COMPOSE_HTTP_TIMEOUT") {
        Err(_) => Ok(REQUEST_TIMEOUT_SECS),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(secs),
            _ => Err(EngineError::Connect {
                endpoint: endpoint.describe(),
                cause: format!("COMPOSE_HTTP_TIMEOUT is `{v}`, not a number of seconds"),
                check: "set COMPOSE_HTTP_TIMEOUT to a whole number of seconds above 0, or unset it (120 s)".into(),
            }),
        },
    }
}

/// A connected, version-negotiated Docker engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: Endpoint,
    /// How long one request may take, in seconds.
    timeout: u64,
}

impl Engine {
    /// Connect to the engine the flags and the environment name (see
    /// [`Endpoint::resolve`]); negotiate the API version so engines older
    /// than bollard's default (such as 20.10, API 1.41) work.
    pub async fn connect(selection: &Selection) -> Result<Engine, EngineError> {
        Engine::connect_endpoint(&Endpoint::from_env(selection)?).await
    }

    /// Connect to `host` (a `DOCKER_HOST` value), or to the default socket
    /// when `None`, without reading the environment.
    pub async fn connect_to(host: Option<&str>) -> Result<Engine, EngineError> {
        let endpoint = Endpoint::parse(host.unwrap_or(super::DEFAULT_HOST))?;
        Engine::connect_endpoint(&endpoint).await
    }

    /// Connect to `endpoint` and negotiate the API version. A failure is one
    /// line naming the endpoint, where it came from, and what to check.
    pub async fn connect_endpoint(endpoint: &Endpoint) -> Result<Engine, EngineError> {
        let failed = |err: EngineError| EngineError::connect(endpoint, &err);
        let timeout = request_timeout(endpoint)?;
        let version = bollard::API_DEFAULT_VERSION;
        let docker = match &endpoint.transport {
            Transport::Unix { path } => Docker::connect_with_unix(path, timeout, version),
            Transport::Tcp { address } => Docker::connect_with_http(address, timeout, version),
            Transport::Tls { address, files } => {
                for (what, path) in [
                    ("CA certificate", &files.ca),
                    ("client certificate", &files.cert),
                    ("client key", &files.key),
                ] {
                    if !path.is_file() {
                        return Err(EngineError::Connect {
                            endpoint: endpoint.describe(),
                            cause: format!("no {what} at {}", path.display()),
                            check: EngineError::check(endpoint),
                        });
                    }
                }
                Docker::connect_with_ssl(
                    address,
                    &files.key,
                    &files.cert,
                    &files.ca,
                    timeout,
                    version,
                )
            }
            Transport::Ssh(target) => super::ssh::client(target, timeout, version),
        }
        .map_err(|e| {
            failed(EngineError::from_bollard(
                &endpoint.host,
                "connect",
                timeout,
                e,
            ))
        })?
        .with_timeout(Duration::from_secs(timeout));

        let docker = docker.negotiate_version().await.map_err(|e| {
            failed(EngineError::from_bollard(
                &endpoint.host,
                "negotiate the API version",
                timeout,
                e,
            ))
        })?;
        // the negotiation's answer proves the engine is there: no ping needed
        let docker = pin_api_version(docker);
        Ok(Engine {
            docker,
            endpoint: endpoint.clone(),
            timeout,
        })
    }

    /// The bollard client, for the apply executor (create, start, build, ...).
    /// Its API version is negotiated and pinned on every request.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The engine's address as given (`unix:///var/run/docker.sock`,
    /// `tcp://10.0.0.5:2375`), for messages.
    pub fn host(&self) -> &str {
        &self.endpoint.host
    }

    /// Where the engine is, how it is reached, and where that came from.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The negotiated API version, e.g. "1.41": the lower of the engine's and
    /// bollard's.
    pub fn api_version(&self) -> String {
        self.docker.client_version().to_string()
    }

    /// Whether the negotiated API version is at least `major.minor`. (API 1.44
    /// takes every network at container create; 1.41 takes one, the others
    /// are connected before start.)
    pub fn api_at_least(&self, major: usize, minor: usize) -> bool {
        self.docker.client_version()
            >= ClientVersion {
                major_version: major,
                minor_version: minor,
            }
    }

    /// Which engine this is: `docker info`'s ID and name, and the address
    /// it was reached at.
    pub async fn identity(&self) -> Result<crate::observed::EngineIdentity, EngineError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| self.error("read the engine's identity (docker info)", e))?;
        Ok(self.identity_of(&info))
    }

    /// The engine's identity in its `docker info`.
    pub(crate) fn identity_of(
        &self,
        info: &bollard::models::SystemInfo,
    ) -> crate::observed::EngineIdentity {
        crate::observed::EngineIdentity {
            id: info.id.clone().unwrap_or_default(),
            name: info.name.clone().unwrap_or_default(),
            root: info.docker_root_dir.clone().unwrap_or_default(),
            endpoint: self.endpoint.host.clone(),
        }
    }

    /// Classify a bollard error of an operation on this engine.
    pub(crate) fn error(&self, doing: &str, err: bollard::errors::Error) -> EngineError {
        EngineError::from_bollard(&self.endpoint.host, doing, self.timeout, err)
    }
}

/// Prefix every request path with the negotiated version (`/v1.41/...`)
/// unless it already carries one; see the module comment for why.
fn pin_api_version(docker: Docker) -> Docker {
    let prefix = format!("/v{}", docker.client_version());
    docker.with_request_modifier(move |mut request| {
        let uri = request.uri();
        let versioned = uri
            .path()
            .strip_prefix("/v")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
        if !versioned {
            let rebuilt = format!(
                "{}://{}{prefix}{}",
                uri.scheme_str().unwrap_or("http"),
                uri.authority().map_or("", |a| a.as_str()),
                uri.path_and_query().map_or("/", |p| p.as_str()),
            );
            // Unparseable only if bollard built a broken URI to begin with;
            // then the request goes out as it was and fails on its own.
            if let Ok(pinned) = rebuilt.parse() {
                *request.uri_mut() = pinned;
            }
        }
        request
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake engine on a unix socket that speaks API 1.30 and records the
    /// request lines it gets.
    fn fake_engine(
        dir: &std::path::Path,
        requests: usize,
    ) -> (String, std::thread::JoinHandle<Vec<String>>) {
        use std::io::{Read, Write};
        let path = dir.join("fake.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..requests {
                let (mut conn, _) = listener.accept().unwrap();
                let mut buf = vec![0; 64 * 1024];
                let n = conn.read(&mut buf).unwrap();
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let line = head.lines().next().unwrap_or("").to_string();
                let body = if line.contains("/version") {
                    r#"{"ApiVersion":"1.30","Version":"17.06"}"#
                } else if line.contains("/_ping") {
                    "OK"
                } else {
                    "[]"
                };
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
                seen.push(line);
            }
            seen
        });
        (format!("unix://{}", path.display()), server)
    }

    #[test]
    fn requests_carry_the_negotiated_api_version() {
        let dir = tempfile::tempdir().unwrap();
        let (host, server) = fake_engine(dir.path(), 2);
        let rt = crate::engine::runtime().unwrap();
        let engine = rt.block_on(Engine::connect_to(Some(&host))).unwrap();
        assert_eq!(engine.api_version(), "1.30");
        assert!(engine.api_at_least(1, 30) && !engine.api_at_least(1, 31));
        rt.block_on(engine.docker().list_containers(None)).unwrap();
        assert_eq!(
            server.join().unwrap(),
            [
                "GET /version HTTP/1.1",
                "GET /v1.30/containers/json HTTP/1.1",
            ]
        );
    }

    #[test]
    fn unknown_schemes_are_refused_before_any_io() {
        let rt = crate::engine::runtime().unwrap();
        let err = rt
            .block_on(Engine::connect_to(Some("npipe:////./pipe/docker_engine")))
            .unwrap_err();
        assert!(matches!(err, EngineError::UnsupportedHost { .. }), "{err}");
        assert!(
            err.to_string().contains("`npipe:////./pipe/docker_engine`"),
            "{err}"
        );
    }
}
