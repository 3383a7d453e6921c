//! Where the engine is: the transport seam. An [`Endpoint`] is resolved once,
//! as the docker CLI resolves it, and [`Engine::connect_endpoint`](super::Engine)
//! turns it into a client. Precedence, highest first:
//!
//! 1. `--context NAME` or `-H, --host URL` (both at once is refused);
//! 2. `DOCKER_HOST`;
//! 3. `DOCKER_CONTEXT`;
//! 4. `currentContext` in `$DOCKER_CONFIG/config.json` (default `~/.docker`);
//! 5. the default socket, [`DEFAULT_HOST`].
//!
//! A host is `unix://PATH`, `tcp://HOST[:PORT]` (TLS when `DOCKER_TLS_VERIFY`
//! is set, or a context carries TLS material) or `ssh://[USER@]HOST[:PORT]`.
//! Every endpoint remembers where it came from ([`Origin`]), so a failure to
//! connect names it.

use std::fmt;
use std::path::{Path, PathBuf};

use super::context::{self, ContextEndpoint};
use super::error::{EngineError, UNSUPPORTED_SCHEME};
use super::ssh::SshTarget;

/// The engine's address when nothing else names one (as for the docker CLI
/// on Linux).
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The port the docker CLI assumes for `tcp://HOST` without TLS.
const DEFAULT_TCP_PORT: u16 = 2375;
/// ... and with TLS.
const DEFAULT_TLS_PORT: u16 = 2376;

/// What the command line says about the engine: the global `-H, --host` and
/// `--context` flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub host: Option<String>,
    pub context: Option<String>,
}

/// Where an endpoint came from, named in every connection error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `-H, --host`.
    HostFlag,
    /// `DOCKER_HOST`.
    HostEnv,
    /// A docker context, and what chose it.
    Context { name: String, chosen_by: String },
    /// Nothing was set: the default socket.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::HostFlag => f.write_str("from --host"),
            Origin::HostEnv => f.write_str("from DOCKER_HOST"),
            Origin::Context { name, chosen_by } => {
                write!(f, "from docker context `{name}`, chosen by {chosen_by}")
            }
            Origin::Default => f.write_str("the default socket"),
        }
    }
}

/// The files of a TLS client: the CA that signs the engine's certificate,
/// and the client's certificate and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Where they were looked for (`DOCKER_CERT_PATH`, `~/.docker`, a
    /// context's TLS directory), for messages.
    pub dir: PathBuf,
}

impl TlsFiles {
    fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir: dir.to_path_buf(),
        }
    }
}

/// How to reach an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// `unix:///path/to/docker.sock`.
    Unix { path: String },
    /// `tcp://HOST[:PORT]`, plain HTTP (port 2375 when none is given).
    Tcp { address: String },
    /// `tcp://HOST[:PORT]` over TLS, the engine's certificate verified
    /// against `files.ca` (port 2376 when none is given).
    Tls { address: String, files: TlsFiles },
    /// `ssh://[USER@]HOST[:PORT]`: `docker system dial-stdio` on the host.
    Ssh(SshTarget),
}

/// An engine's address, how to reach it, and where that came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The address as the user wrote it (`ssh://deploy@prod`).
    pub host: String,
    pub transport: Transport,
    pub origin: Origin,
}

/// What [`Endpoint::resolve`] reads of the process: environment variables
/// and the home directory, passed in so the resolution is testable.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
    fn home(&self) -> Option<PathBuf>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn home(&self) -> Option<PathBuf> {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    }
}

/// A variable counts only when set to something other than blanks.
fn set(env: &dyn Environment, name: &str) -> Option<String> {
    env.var(name).filter(|v| !v.trim().is_empty())
}

impl Endpoint {
    /// The endpoint the flags and the process environment name.
    pub fn from_env(selection: &Selection) -> Result<Endpoint, EngineError> {
        Endpoint::resolve(selection, &ProcessEnv)
    }

    /// Resolve as the docker CLI does (see the module comment).
    pub fn resolve(selection: &Selection, env: &dyn Environment) -> Result<Endpoint, EngineError> {
        let flag = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        match (flag(&selection.host), flag(&selection.context)) {
            (Some(host), Some(context)) => Err(EngineError::UnsupportedHost {
                host,
                reason: format!(
                    "both --host and --context `{context}` are given; use one or the other"
                ),
            }),
            (Some(host), None) => default_context(&host, Origin::HostFlag, env),
            (None, Some(name)) => named_context(&name, "--context", env),
            (None, None) => {
                if let Some(host) = set(env, "DOCKER_HOST") {
                    return default_context(&host, Origin::HostEnv, env);
                }
                if let Some(name) = set(env, "DOCKER_CONTEXT") {
                    return named_context(&name, "DOCKER_CONTEXT", env);
                }
                let config = context::config_dir(env);
                if let Some(name) = context::current(&config)? {
                    let chosen_by =
                        format!("currentContext in {}", config.join("config.json").display());
                    return named_context(&name, &chosen_by, env);
                }
                default_context(DEFAULT_HOST, Origin::Default, env)
            }
        }
    }

    /// A host as `DOCKER_HOST` or `-H` gives it, TLS from `DOCKER_TLS_VERIFY`
    /// and `DOCKER_CERT_PATH`; an unknown scheme is refused before any I/O.
    pub fn parse(host: &str) -> Result<Endpoint, EngineError> {
        parse(host, Origin::HostEnv, None)
    }

    /// The address as the user wrote it, with where it came from:
    /// "ssh://deploy@prod (from DOCKER_HOST)".
    pub fn describe(&self) -> String {
        format!("{} ({})", self.host, self.origin)
    }

    /// Whether the engine runs on another machine than berth: paths of bind
    /// mounts are then paths on that machine, and published ports are
    /// reached at its name, not at localhost.
    pub fn is_remote(&self) -> bool {
        self.remote_host().is_some()
    }

    /// The name of the engine's machine when it is not this one
    /// (`prod.example.com` for `ssh://deploy@prod.example.com:2222`).
    pub fn remote_host(&self) -> Option<String> {
        let name = match &self.transport {
            Transport::Unix { .. } => return None,
            Transport::Tcp { address } | Transport::Tls { address, .. } => {
                let authority = address.strip_prefix("tcp://").unwrap_or(address);
                host_of(authority).to_string()
            }
            Transport::Ssh(target) => target.host.clone(),
        };
        let local = ["localhost", "127.0.0.1", "::1", "[::1]"];
        (!local.contains(&name.as_str()) && !name.starts_with("127.")).then_some(name)
    }
}

/// The default context: an explicit host (or the default socket), with TLS
/// from the environment.
fn default_context(
    host: &str,
    origin: Origin,
    env: &dyn Environment,
) -> Result<Endpoint, EngineError> {
    let tls = if set(env, "DOCKER_TLS_VERIFY").is_some() {
        let dir = set(env, "DOCKER_CERT_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| context::config_dir(env));
        Some(TlsFiles::in_dir(&dir))
    } else {
        None
    };
    if set(env, "DOCKER_TLS").is_some() && tls.is_none() && host.starts_with("tcp://") {
        return Err(EngineError::UnsupportedHost {
            host: host.to_string(),
            reason: "DOCKER_TLS asks for TLS without verifying the engine's certificate; berth only speaks verified TLS (set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)".to_string(),
        });
    }
    parse(host, origin, tls)
}

/// A named context from the docker CLI's context store.
fn named_context(
    name: &str,
    chosen_by: &str,
    env: &dyn Environment,
) -> Result<Endpoint, EngineError> {
    let origin = Origin::Context {
        name: name.to_string(),
        chosen_by: chosen_by.to_string(),
    };
    if name == "default" {
        // the implicit context: DOCKER_HOST, else the default socket
        let host = set(env, "DOCKER_HOST").unwrap_or_else(|| DEFAULT_HOST.to_string());
        return default_context(&host, origin, env);
    }
    let ContextEndpoint {
        host,
        skip_tls_verify,
        tls_dir,
    } = context::load(&context::config_dir(env), name, chosen_by)?;
    if skip_tls_verify && host.starts_with("tcp://") {
        return Err(EngineError::UnsupportedHost {
            host,
            reason: format!(
                "docker context `{name}` skips verifying the engine's TLS certificate (SkipTLSVerify); berth only speaks verified TLS: recreate the context with --docker \"host=...,ca=...,cert=...,key=...\""
            ),
        });
    }
    parse(&host, origin, tls_dir.map(|d| TlsFiles::in_dir(&d)))
}

fn parse(host: &str, origin: Origin, tls: Option<TlsFiles>) -> Result<Endpoint, EngineError> {
    let host = host.trim().to_string();
    let unsupported = |reason: String| EngineError::UnsupportedHost {
        host: host.clone(),
        reason,
    };
    let transport = if let Some(path) = host.strip_prefix("unix://") {
        Transport::Unix {
            path: path.to_string(),
        }
    } else if let Some(rest) = host.strip_prefix("tcp://") {
        match tls {
            Some(files) => Transport::Tls {
                address: with_default_port(rest, DEFAULT_TLS_PORT),
                files,
            },
            None => Transport::Tcp {
                address: with_default_port(rest, DEFAULT_TCP_PORT),
            },
        }
    } else if host.starts_with("ssh://") {
        Transport::Ssh(SshTarget::parse(&host).map_err(unsupported)?)
    } else {
        return Err(unsupported(UNSUPPORTED_SCHEME.to_string()));
    };
    Ok(Endpoint {
        host,
        transport,
        origin,
    })
}

/// `host` of `host:port`, `[::1]` of `[::1]:2375`.
fn host_of(authority: &str) -> &str {
    let authority = authority.split('/').next().unwrap_or("");
    match authority.rfind(']') {
        Some(close) => &authority[..=close],
        None => authority.split(':').next().unwrap_or(authority),
    }
}

/// `tcp://HOST` means port 2375 (2376 with TLS) to the docker CLI; bollard
/// would use 80.
fn with_default_port(authority_and_path: &str, port: u16) -> String {
    let authority = authority_and_path.split('/').next().unwrap_or("");
    let has_port = match authority.rfind(']') {
        // [::1]:2375 or [::1]
        Some(close) => authority[close..].contains(':'),
        None => authority.contains(':'),
    };
    if has_port {
        format!("tcp://{authority}")
    } else {
        format!("tcp://{authority}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// An environment of variables and a home directory.
    #[derive(Default)]
    struct Env {
        vars: HashMap<String, String>,
        home: Option<PathBuf>,
    }

    impl Env {
        fn with(mut self, name: &str, value: &str) -> Env {
            self.vars.insert(name.into(), value.into());
            self
        }
    }

    impl Environment for Env {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned()
        }
        fn home(&self) -> Option<PathBuf> {
            self.home.clone()
        }
    }

    fn resolve(sel: &Selection, env: &Env) -> Result<Endpoint, EngineError> {
        Endpoint::resolve(sel, env)
    }

    fn host(h: &str) -> Selection {
        Selection {
            host: Some(h.into()),
            context: None,
        }
    }

    fn context(name: &str) -> Selection {
        Selection {
            host: None,
            context: Some(name.into()),
        }
    }

    /// A docker config directory holding contexts named `names`, each with
    /// the host `ssh://NAME`, and `current` as `currentContext`.
    fn config_with_contexts(names: &[&str], current: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            context::tests::write_context(dir.path(), name, &format!("ssh://{name}"), None);
        }
        if let Some(c) = current {
            std::fs::write(
                dir.path().join("config.json"),
                format!(r#"{{"auths":{{}},"currentContext":"{c}"}}"#),
            )
            .unwrap();
        }
        dir
    }

    #[test]
    fn tcp_hosts_default_to_port_2375_or_2376_with_tls() {
        assert_eq!(with_default_port("10.0.0.5", 2375), "tcp://10.0.0.5:2375");
        assert_eq!(
            with_default_port("10.0.0.5:3000", 2375),
            "tcp://10.0.0.5:3000"
        );
        assert_eq!(with_default_port("[::1]", 2376), "tcp://[::1]:2376");
        assert_eq!(with_default_port("[::1]:1234/", 2375), "tcp://[::1]:1234");
    }

    #[test]
    fn docker_host_values_name_their_transport() {
        let unix = Endpoint::parse(" unix:///run/docker.sock ").unwrap();
        assert_eq!(
            unix.transport,
            Transport::Unix {
                path: "/run/docker.sock".into()
            }
        );
        assert_eq!(unix.host, "unix:///run/docker.sock");
        assert_eq!(
            Endpoint::parse("tcp://10.0.0.5").unwrap().transport,
            Transport::Tcp {
                address: "tcp://10.0.0.5:2375".into()
            }
        );
        let ssh = Endpoint::parse("ssh://me@example.com:2222").unwrap();
        assert!(matches!(ssh.transport, Transport::Ssh(ref t) if t.port == Some(2222)));
        let err = Endpoint::parse("npipe:////./pipe/docker_engine").unwrap_err();
        assert!(err.to_string().contains("`npipe:"), "{err}");
    }

    #[test]
    fn nothing_set_is_the_default_socket() {
        let home = tempfile::tempdir().unwrap();
        let env = Env {
            home: Some(home.path().into()),
            ..Env::default()
        };
        let e = resolve(&Selection::default(), &env).unwrap();
        assert_eq!(e.host, DEFAULT_HOST);
        assert_eq!(e.origin, Origin::Default);
        assert!(!e.is_remote());
    }

    #[test]
    fn the_host_flag_beats_docker_host_which_beats_docker_context() {
        let config = config_with_contexts(&["staging"], Some("staging"));
        let env = Env::default()
            .with("DOCKER_CONFIG", config.path().to_str().unwrap())
            .with("DOCKER_HOST", "tcp://from-env:2375")
            .with("DOCKER_CONTEXT", "staging");
        let flag = resolve(&host("unix:///flag.sock"), &env).unwrap();
        assert_eq!(
            (flag.host.as_str(), &flag.origin),
            ("unix:///flag.sock", &Origin::HostFlag)
        );
        let from_env = resolve(&Selection::default(), &env).unwrap();
        assert_eq!(from_env.origin, Origin::HostEnv);
        assert_eq!(from_env.remote_host().as_deref(), Some("from-env"));
    }

    #[test]
    fn contexts_are_chosen_by_flag_then_docker_context_then_current_context() {
        let config = config_with_contexts(&["a", "b", "c"], Some("c"));
        let env = Env::default().with("DOCKER_CONFIG", config.path().to_str().unwrap());
        let by_config = resolve(&Selection::default(), &env).unwrap();
        assert_eq!(by_config.host, "ssh://c");
        assert!(
            by_config
                .describe()
                .contains("from docker context `c`, chosen by currentContext in"),
            "{}",
            by_config.describe()
        );
        let env = env.with("DOCKER_CONTEXT", "b");
        let by_env = resolve(&Selection::default(), &env).unwrap();
        assert_eq!(by_env.host, "ssh://b");
        assert_eq!(
            by_env.describe(),
            "ssh://b (from docker context `b`, chosen by DOCKER_CONTEXT)"
        );
        let by_flag = resolve(&context("a"), &env).unwrap();
        assert_eq!(by_flag.host, "ssh://a");
        assert!(by_flag.is_remote());
    }

    #[test]
    fn the_default_context_is_docker_host_or_the_socket() {
        let config = config_with_contexts(&[], Some("default"));
        let env = Env::default().with("DOCKER_CONFIG", config.path().to_str().unwrap());
        assert_eq!(
            resolve(&Selection::default(), &env).unwrap().host,
            DEFAULT_HOST
        );
        let e = resolve(&context("default"), &env.with("DOCKER_HOST", "tcp://h")).unwrap();
        assert_eq!(e.host, "tcp://h");
    }

    #[test]
    fn host_and_context_flags_together_are_refused() {
        let sel = Selection {
            host: Some("unix:///x".into()),
            context: Some("prod".into()),
        };
        let err = resolve(&sel, &Env::default()).unwrap_err().to_string();
        assert!(err.contains("both --host and --context `prod`"), "{err}");
    }

    #[test]
    fn an_unknown_context_is_named_with_where_to_look() {
        let config = config_with_contexts(&["a"], None);
        let env = Env::default().with("DOCKER_CONFIG", config.path().to_str().unwrap());
        let err = resolve(&context("prod"), &env).unwrap_err().to_string();
        assert!(
            err.contains("docker context `prod` (from --context) does not exist"),
            "{err}"
        );
        assert!(err.contains("docker context ls"), "{err}");
    }

    #[test]
    fn tls_comes_from_docker_tls_verify_and_docker_cert_path() {
        let env = Env::default()
            .with("DOCKER_HOST", "tcp://engine.example")
            .with("DOCKER_TLS_VERIFY", "1")
            .with("DOCKER_CERT_PATH", "/certs");
        let e = resolve(&Selection::default(), &env).unwrap();
        assert_eq!(
            e.transport,
            Transport::Tls {
                address: "tcp://engine.example:2376".into(),
                files: TlsFiles::in_dir(Path::new("/certs")),
            }
        );
        let home = Env {
            home: Some("/home/me".into()),
            ..Env::default()
        }
        .with("DOCKER_TLS_VERIFY", "1");
        let e = resolve(&host("tcp://h:1"), &home).unwrap();
        assert!(
            matches!(&e.transport, Transport::Tls { files, .. } if files.ca == Path::new("/home/me/.docker/ca.pem")),
            "{e:?}"
        );
        let unverified = Env::default().with("DOCKER_TLS", "1");
        let err = resolve(&host("tcp://h"), &unverified)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only speaks verified TLS"), "{err}");
    }

    #[test]
    fn a_context_with_tls_material_speaks_tls() {
        let config = tempfile::tempdir().unwrap();
        context::tests::write_context(config.path(), "secure", "tcp://10.1.2.3", Some(false));
        let env = Env::default().with("DOCKER_CONFIG", config.path().to_str().unwrap());
        let e = resolve(&context("secure"), &env).unwrap();
        match e.transport {
            Transport::Tls { address, files } => {
                assert_eq!(address, "tcp://10.1.2.3:2376");
                assert!(files.ca.ends_with("docker/ca.pem"), "{:?}", files.ca);
            }
            other => panic!("{other:?}"),
        }
        context::tests::write_context(config.path(), "lax", "tcp://10.1.2.3", Some(true));
        let err = resolve(&context("lax"), &env).unwrap_err().to_string();
        assert!(err.contains("SkipTLSVerify"), "{err}");
    }

    #[test]
    fn local_addresses_are_not_remote() {
        for h in [
            "unix:///var/run/docker.sock",
            "tcp://127.0.0.1:2375",
            "tcp://localhost",
            "ssh://root@127.0.0.1:2222",
            "tcp://[::1]:2375",
        ] {
            assert!(!Endpoint::parse(h).unwrap().is_remote(), "{h}");
        }
        assert_eq!(
            Endpoint::parse("ssh://deploy@prod.example.com:2222")
                .unwrap()
                .remote_host()
                .as_deref(),
            Some("prod.example.com")
        );
    }
}
