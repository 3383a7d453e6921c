//! `ssh://` engines, reached as the docker CLI reaches them: for every
//! connection, run the user's own `ssh` (so `~/.ssh/config`, agents, keys,
//! `known_hosts` and jump hosts all apply) as
//!
//! ```text
//! ssh -o ConnectTimeout=30 -T [-l USER] [-p PORT] -- HOST docker [--host unix://PATH] system dial-stdio
//! ```
//!
//! and speak the engine's HTTP API over its standard input and output. What
//! ssh prints on standard error (a refused key, an unknown host key, no
//! `docker` on the host) becomes the error's cause.
//!
//! A command opens several connections at once (observation lists every
//! kind in parallel; apply builds and starts in parallel), and each ssh
//! handshake costs a round of key exchange and authentication. Unless the
//! user's ssh configuration already decides multiplexing (`ControlMaster`),
//! berth adds `ControlMaster=auto`, a `ControlPath` in a private directory
//! and `ControlPersist=30s`: the first connection authenticates, the others
//! (and the next berth command within 30 s) open a channel on it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::{BollardRequest, ClientVersion, Docker};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncBufReadExt, BufReader, Join};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// An `ssh://[USER@]HOST[:PORT][/SOCKET]` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The engine's socket on the host, when not the default.
    pub socket: Option<String>,
}

impl SshTarget {
    /// Parse an `ssh://` URL as the docker CLI does; the error says what is
    /// wrong with it.
    pub fn parse(url: &str) -> Result<SshTarget, String> {
        let rest = url
            .strip_prefix("ssh://")
            .ok_or_else(|| "an ssh host starts with ssh://".to_string())?;
        if rest.contains(['?', '#']) {
            return Err("an ssh host takes no query or fragment".to_string());
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        let (user, host_port) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        if user.is_some_and(|u| u.contains(':')) {
            return Err(
                "a password in the ssh address is not supported: use a key (ssh-agent, ~/.ssh/config)"
                    .to_string(),
            );
        }
        if user.is_some_and(str::is_empty) {
            return Err("the user before `@` is empty".to_string());
        }
        let (host, port) = split_port(host_port)?;
        if host.is_empty() {
            return Err("no host name (ssh://[USER@]HOST[:PORT])".to_string());
        }
        Ok(SshTarget {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
            socket: (!path.is_empty() && path != "/").then(|| path.to_string()),
        })
    }

    /// The arguments of `ssh` that run `docker system dial-stdio` on the host.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = ["-o", "ConnectTimeout=30", "-T"].map(String::from).to_vec();
        args.extend(self.destination());
        args.push("docker".to_string());
        if let Some(socket) = &self.socket {
            args.extend(["--host".to_string(), format!("unix://{socket}")]);
        }
        args.extend(["system", "dial-stdio"].map(String::from));
        args
    }

    /// `[-l USER] [-p PORT] -- HOST`.
    fn destination(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(user) = &self.user {
            args.extend(["-l".to_string(), user.clone()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".to_string(), port.to_string()]);
        }
        args.extend(["--".to_string(), self.host.clone()]);
        args
    }

    /// The command a person can run to check the same path by hand.
    pub fn check_command(&self) -> String {
        let mut cmd = "ssh".to_string();
        if let Some(port) = self.port {
            cmd.push_str(&format!(" -p {port}"));
        }
        match &self.user {
            Some(user) => cmd.push_str(&format!(" {user}@{}", self.host)),
            None => cmd.push_str(&format!(" {}", self.host)),
        }
        cmd.push_str(" docker version");
        cmd
    }
}

/// `host` and the port of `host:port` or `[v6]:port`.
fn split_port(host_port: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let close = v6.find(']').ok_or("an unclosed `[` in the host")?;
        let after = &v6[close + 1..];
        (&v6[..close], after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("`{p}` is not a port number"))?,
        ),
    };
    Ok((host, port))
}

/// The last lines ssh wrote on standard error, across its processes.
#[derive(Clone, Default)]
struct Stderr(Arc<Mutex<Vec<String>>>);

impl Stderr {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        lines.push(line);
        let excess = lines.len().saturating_sub(5);
        lines.drain(..excess);
    }

    fn last(&self) -> Option<String> {
        let lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        lines.last().cloned()
    }

    /// The last line, once ssh has stopped writing for a moment (it often
    /// writes two: what it checked, then why it gave up).
    async fn settled(&self) -> Option<String> {
        let mut seen = None;
        for _ in 0..20 {
            let now = self.last();
            if now.is_some() && now == seen {
                break;
            }
            seen = now;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        seen
    }
}

/// How many ssh connections a command keeps open at most. Each costs an ssh
/// session and a `docker` process on the host.
const MAX_CONNECTIONS: usize = 8;

/// How long a request waits for a busy connection before another is opened.
/// A plan's requests are short: on one connection, one after the other, they
/// finish sooner than new connections open (a second each on a small host).
/// Apply's long ones (a build, a stop with its grace period) get their own
/// connection after this wait.
const PATIENCE: Duration = Duration::from_millis(150);

/// Requests waiting for an answer, and open connections: a new connection
/// is opened only while more requests wait than there are connections.
#[derive(Default)]
struct Demand {
    in_flight: AtomicUsize,
    open: AtomicUsize,
}

impl Demand {
    /// Take a connection slot: the first at once (`patient` false), another
    /// only if needed and allowed.
    fn claim(&self, patient: bool) -> bool {
        self.open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| {
                let waiting = self.in_flight.load(Ordering::SeqCst);
                let needed = waiting > open && open < MAX_CONNECTIONS;
                (open == 0 || (patient && needed)).then_some(open + 1)
            })
            .is_ok()
    }
}

/// Counts a request in flight until it has its answer (or is dropped).
struct InFlight(Arc<Demand>);

impl InFlight {
    fn new(demand: &Arc<Demand>) -> InFlight {
        demand.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(demand))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection slot, given back when the connection closes.
struct Slot(Arc<Demand>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Opens one ssh process per connection (hyper keeps idle ones for reuse),
/// only when requests are waiting (see [`Demand`]). hyper may go on with a
/// connect in the background after an idle connection served its request:
/// such a connect keeps waiting until it is needed.
#[derive(Clone)]
struct SshConnector {
    args: Arc<Vec<String>>,
    stderr: Stderr,
    demand: Arc<Demand>,
}

/// A connection: the ssh process's standard output and input.
struct SshStream {
    io: TokioIo<Join<ChildStdout, ChildStdin>>,
    /// Killed when the connection is dropped.
    _child: Child,
    _slot: Slot,
}

impl tower_service::Service<hyper::Uri> for SshConnector {
    type Response = SshStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<SshStream>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let args = Arc::clone(&self.args);
        let stderr = self.stderr.clone();
        let demand = Arc::clone(&self.demand);
        Box::pin(async move {
            if !demand.claim(false) {
                tokio::time::sleep(PATIENCE).await;
                while !demand.claim(true) {
                    tokio::time::sleep(PATIENCE / 3).await;
                }
            }
            let slot = Slot(demand);
            let mut child = Command::new("ssh")
                .args(args.iter())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| io::Error::new(e.kind(), format!("cannot run ssh: {e}")))?;
            let (Some(stdin), Some(stdout), Some(err)) =
                (child.stdin.take(), child.stdout.take(), child.stderr.take())
            else {
                return Err(io::Error::other("ssh started without its pipes"));
            };
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let line = line.trim().to_string();
                    if !line.is_empty() {
                        stderr.push(line);
                    }
                }
            });
            Ok(SshStream {
                io: TokioIo::new(tokio::io::join(stdout, stdin)),
                _child: child,
                _slot: slot,
            })
        })
    }
}

impl hyper::rt::Read for SshStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for SshStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl Connection for SshStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// `-o ControlMaster=auto -o ControlPath=... -o ControlPersist=30s` when
/// the user's ssh configuration leaves multiplexing to us (`ssh -G` says
/// `controlmaster false`) and a private directory for the socket can be
/// made; nothing otherwise.
fn multiplexing(target: &SshTarget) -> Vec<String> {
    let decided_by_user = std::process::Command::new("ssh")
        .arg("-G")
        .args(target.destination())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|out| {
            !out.status.success()
                || !String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|l| l.trim() == "controlmaster false")
        })
        .unwrap_or(true);
    if decided_by_user {
        return Vec::new();
    }
    match private_dir() {
        Some(dir) => vec![
            "-o".to_string(),
            "ControlMaster=auto".to_string(),
            "-o".to_string(),
            format!("ControlPath={}/%C", dir.display()),
            "-o".to_string(),
            "ControlPersist=30s".to_string(),
        ],
        None => Vec::new(),
    }
}

/// `$TMPDIR/berth-ssh-UID`, made with mode 0700 if missing; `None` unless
/// it is a directory owned by this user that nobody else may enter (another
/// user's socket there could capture the connection).
fn private_dir() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let dir = std::env::temp_dir().join(format!("berth-ssh-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.permissions().mode() & 0o077 == 0).then_some(dir)
}

/// A bollard client whose every connection is `ssh ... docker system
/// dial-stdio` to `target`.
pub fn client(
    target: &SshTarget,
    timeout_secs: u64,
    version: &ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    let stderr = Stderr::default();
    let mut args = multiplexing(target);
    args.extend(target.args());
    let connector = SshConnector {
        args: Arc::new(args),
        stderr: stderr.clone(),
        demand: Arc::new(Demand::default()),
    };
    let demand = Arc::clone(&connector.demand);
    let client = Arc::new(Client::builder(TokioExecutor::new()).build(connector));
    Docker::connect_with_custom_transport(
        move |request: BollardRequest| {
            let client = Arc::clone(&client);
            let stderr = stderr.clone();
            let in_flight = InFlight::new(&demand);
            async move {
                let answer = client.request(request).await;
                drop(in_flight);
                match answer {
                    Ok(response) => Ok(response),
                    Err(err) => Err(with_ssh_cause(err, &stderr).await),
                }
            }
        },
        // the host part is a placeholder: the connector ignores it
        Some("http://docker"),
        timeout_secs,
        version,
    )
}

/// A failed request's error, with what ssh said on standard error as the
/// cause when it said anything (it usually explains the failure: a refused
/// key, an unknown host key, no `docker` on the host).
async fn with_ssh_cause(
    err: hyper_util::client::legacy::Error,
    stderr: &Stderr,
) -> bollard::errors::Error {
    // ssh writes its complaint and exits; the reader may be a moment behind
    match stderr.settled().await {
        Some(line) => bollard::errors::Error::IOError {
            err: io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("ssh: {}", line.strip_prefix("ssh: ").unwrap_or(&line)),
            ),
        },
        None => err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> SshTarget {
        SshTarget::parse(url).unwrap()
    }

    #[test]
    fn ssh_addresses_as_the_docker_cli_reads_them() {
        assert_eq!(
            target("ssh://deploy@prod.example.com:2222"),
            SshTarget {
                user: Some("deploy".into()),
                host: "prod.example.com".into(),
                port: Some(2222),
                socket: None,
            }
        );
        let plain = target("ssh://prod");
        assert_eq!((plain.user, plain.port), (None, None));
        assert_eq!(target("ssh://[::1]:22").host, "::1");
        assert_eq!(
            target("ssh://me@host/run/user/1000/docker.sock")
                .socket
                .as_deref(),
            Some("/run/user/1000/docker.sock")
        );
    }

    #[test]
    fn malformed_ssh_addresses_say_what_is_wrong() {
        for (url, why) in [
            ("ssh://me:secret@host", "password"),
            ("ssh://host:abc", "not a port"),
            ("ssh://", "no host"),
            ("ssh://@host", "user before `@` is empty"),
            ("ssh://host?x=1", "no query"),
        ] {
            let err = SshTarget::parse(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn ssh_runs_docker_system_dial_stdio_on_the_host() {
        assert_eq!(
            target("ssh://deploy@prod:2222").args().join(" "),
            "-o ConnectTimeout=30 -T -l deploy -p 2222 -- prod docker system dial-stdio"
        );
        assert_eq!(
            target("ssh://prod/var/run/other.sock").args().join(" "),
            "-o ConnectTimeout=30 -T -- prod docker --host unix:///var/run/other.sock system dial-stdio"
        );
        assert_eq!(
            target("ssh://deploy@prod:2222").check_command(),
            "ssh -p 2222 deploy@prod docker version"
        );
    }
}
