//! `proxy`: an HTTP reverse proxy in front of a service's replicas, for
//! measuring rollouts. Every request is forwarded to `$UPSTREAM`
//! (`HOST:PORT`, e.g. `web:5000`), whose name is resolved again for each
//! request: inside a container that asks Docker's embedded DNS, so a new
//! replica is used as soon as its name resolves and a removed one is dropped.
//!
//! The addresses are tried in turn, each with a 1 s connect timeout; one
//! that has not connected within 200 ms gets the next one started beside it
//! (the first connection wins), and one that failed in the last 5 s is tried
//! after the others. Docker's DNS lists a stopped replica for a moment after
//! it is gone (connecting to it then times out), so a replica going away
//! costs a request 200 ms, not the request. A GET or HEAD whose upstream
//! accepts but closes without answering (a replica shutting down) moves on
//! to the next address too. When every address failed within 1.5 s, the name
//! is resolved once more and addresses it did not list before are tried.
//! `502 Bad Gateway` when none answers.
//!
//! One request per connection: the request goes upstream with
//! `Connection: close` and the answer is copied back until the upstream
//! closes. A thread per connection.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::http;

/// How long one upstream address gets to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a connection attempt runs alone before the next address is
/// tried beside it.
const STAGGER: Duration = Duration::from_millis(200);
/// How long an address that failed is tried after the others.
const REMEMBER_FAILURE: Duration = Duration::from_secs(5);
/// When every address failed this soon after the request came, the name is
/// resolved once more and the addresses not tried yet get their turn.
const RESOLVE_AGAIN_WITHIN: Duration = Duration::from_millis(1500);
/// How long the upstream may take to answer (and between reads after that).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest request line or header line accepted.
const MAX_LINE: u64 = 8 * 1024;
/// Most header lines accepted.
const MAX_HEADERS: usize = 100;
/// Largest request body forwarded.
const MAX_BODY: u64 = 1024 * 1024;

/// Where requests go: a name (or address) resolved per request, and a port.
#[derive(Debug, PartialEq, Eq)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
}

/// Parses `$UPSTREAM`: `HOST:PORT`.
pub fn parse_upstream(s: &str) -> Result<Upstream, String> {
    let bad = || format!("invalid $UPSTREAM `{s}`: expected HOST:PORT, e.g. web:5000");
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    if host.is_empty() || host.contains(['/', '@', '[', ']', ' ']) {
        return Err(bad());
    }
    Ok(Upstream {
        host: host.to_string(),
        port,
    })
}

/// Listens on `0.0.0.0:port` and forwards each connection's request to
/// `$UPSTREAM` on its own thread.
pub fn run(port: u16) -> Result<(), String> {
    let upstream = std::env::var("UPSTREAM")
        .map_err(|_| "$UPSTREAM is not set: expected HOST:PORT, e.g. web:5000".to_string())
        .and_then(|s| parse_upstream(&s))?;
    let upstream = Arc::new(upstream);
    let recent = Arc::new(Recent::default());
    let listener = TcpListener::bind(("0.0.0.0", port))
        .map_err(|e| format!("failed to listen on 0.0.0.0:{port}: {e}"))?;
    println!(
        "berth-demo proxy: listening on 0.0.0.0:{port} (HTTP), forwarding to {}:{} (resolved per request)",
        upstream.host, upstream.port
    );
    for conn in listener.incoming() {
        let conn = match conn {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("berth-demo proxy: failed to accept connection: {e}");
                continue;
            }
        };
        let (upstream, recent) = (Arc::clone(&upstream), Arc::clone(&recent));
        std::thread::spawn(move || {
            if let Err(e) = serve_connection(conn, &upstream, &recent) {
                eprintln!("berth-demo proxy: connection error: {e}");
            }
        });
    }
    Ok(())
}

/// Reads one request, forwards it, copies the answer back, closes.
fn serve_connection(mut client: TcpStream, upstream: &Upstream, recent: &Recent) -> io::Result<()> {
    client.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    client.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(head) = read_head(&mut reader)? else {
        return Ok(()); // Closed without sending anything.
    };
    let method = match http::parse_request_line(&head[0]) {
        Ok(req) => req.method.to_string(),
        Err(e) => return http::write_response(&mut client, 400, "Bad Request", &format!("{e}\n")),
    };
    let body_len = match body_length(&head[1..]) {
        Ok(n) => n,
        Err((status, reason, msg)) => {
            return http::write_response(&mut client, status, reason, &format!("{msg}\n"));
        }
    };
    let mut request = rewrite_head(&head).into_bytes();
    let body_read = reader.take(body_len).read_to_end(&mut request)?;
    if (body_read as u64) < body_len {
        return Ok(()); // The client closed before sending its body.
    }

    let retry = matches!(method.as_str(), "GET" | "HEAD");
    let started = Instant::now();
    let mut tried = Vec::new();
    let mut forwarded = resolve(upstream).and_then(|addrs| {
        tried = addrs.clone();
        forward(&request, &addrs, retry, recent)
    });
    // Docker's DNS can still list replicas that are gone and not yet the
    // new ones: once, ask again and try what it did not list before.
    if forwarded.is_err()
        && started.elapsed() < RESOLVE_AGAIN_WITHIN
        && let Ok(addrs) = resolve(upstream)
    {
        let new: Vec<_> = addrs.into_iter().filter(|a| !tried.contains(a)).collect();
        if !new.is_empty() {
            eprintln!(
                "berth-demo proxy: resolved `{}` again: {new:?} not tried yet",
                upstream.host
            );
            forwarded = forward(&request, &new, retry, recent);
        }
    }
    match forwarded {
        Ok((mut conn, first)) => {
            client.write_all(&first)?;
            io::copy(&mut conn, &mut client)?;
            client.flush()?;
            let _ = client.shutdown(Shutdown::Write);
            Ok(())
        }
        Err(e) => {
            let msg = format!(
                "no upstream answered for {}:{}: {e}",
                upstream.host, upstream.port
            );
            eprintln!(
                "berth-demo proxy: {} -> 502: {msg}",
                head[0].trim_end_matches(['\r', '\n'])
            );
            http::write_response(&mut client, 502, "Bad Gateway", &format!("{msg}\n"))
        }
    }
}

/// Resolves the upstream's name now (not once at start-up).
fn resolve(upstream: &Upstream) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (upstream.host.as_str(), upstream.port)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve `{}`: {e}", upstream.host)))?
        .collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{}` resolved to no addresses", upstream.host),
        ));
    }
    Ok(addrs)
}

/// Addresses that recently failed to take a connection, and when: tried
/// after the others for [`REMEMBER_FAILURE`].
#[derive(Default)]
pub struct Recent(Mutex<HashMap<SocketAddr, Instant>>);

impl Recent {
    /// `addrs` in their order, those that failed recently moved to the end.
    fn order(&self, addrs: &[SocketAddr]) -> Vec<SocketAddr> {
        let mut failed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        failed.retain(|_, at| at.elapsed() < REMEMBER_FAILURE);
        let (bad, mut good): (Vec<_>, Vec<_>) =
            addrs.iter().copied().partition(|a| failed.contains_key(a));
        good.extend(bad);
        good
    }

    fn failed(&self, addr: SocketAddr) {
        let mut failed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        failed.insert(addr, Instant::now());
    }

    fn connected(&self, addr: SocketAddr) {
        let mut failed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        failed.remove(&addr);
    }
}

/// Connects to one of `addrs`: the first at once, the next whenever
/// [`STAGGER`] passes without a connection or an attempt fails, each attempt
/// with [`CONNECT_TIMEOUT`]; the first connection made wins. So an address
/// that no longer answers (a stopped replica Docker's DNS still lists)
/// delays a request by [`STAGGER`], not by the whole timeout.
fn connect_staggered(addrs: &[SocketAddr], recent: &Recent) -> io::Result<(TcpStream, SocketAddr)> {
    let (tx, rx) = mpsc::channel();
    let start = |addr: SocketAddr| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            // The receiver may be gone (another address won): the
            // connection is then dropped, i.e. closed.
            let _ = tx.send((addr, TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)));
        });
    };
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, "no addresses to try");
    let (mut started, mut failed) = (0, 0);
    while failed < addrs.len() {
        if started == failed && started < addrs.len() {
            start(addrs[started]); // nothing in flight: the next one now
            started += 1;
        }
        match rx.recv_timeout(STAGGER) {
            Ok((addr, Ok(conn))) => {
                recent.connected(addr);
                return Ok((conn, addr));
            }
            Ok((addr, Err(e))) => {
                failed += 1;
                recent.failed(addr);
                let e = io::Error::new(e.kind(), format!("cannot connect to {addr}: {e}"));
                if failed < addrs.len() {
                    eprintln!("berth-demo proxy: {e}; trying the next address");
                }
                last_err = e;
            }
            Err(_) if started < addrs.len() => {
                start(addrs[started]); // slow: the next one beside it
                started += 1;
            }
            Err(_) => {} // all started: wait for them
        }
    }
    Err(last_err)
}

/// Sends `request` through the first connection [`connect_staggered`] makes
/// to `addrs`; returns it and the first bytes of its answer. With `retry`
/// (idempotent requests), an address that accepts but closes or fails
/// before answering is left out and the rest tried again.
pub fn forward(
    request: &[u8],
    addrs: &[SocketAddr],
    retry: bool,
    recent: &Recent,
) -> io::Result<(TcpStream, Vec<u8>)> {
    let mut left = recent.order(addrs);
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, "no addresses to try");
    while !left.is_empty() {
        let (mut conn, addr) = connect_staggered(&left, recent)?;
        left.retain(|a| *a != addr);
        let wrap =
            |what: &str, e: io::Error| io::Error::new(e.kind(), format!("{what} {addr}: {e}"));
        let mut attempt = || -> io::Result<Vec<u8>> {
            conn.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
            conn.set_write_timeout(Some(UPSTREAM_TIMEOUT))?;
            conn.write_all(request)
                .and_then(|()| conn.flush())
                .map_err(|e| wrap("failed to send the request to", e))?;
            let mut first = vec![0; 16 * 1024];
            let n = (&conn)
                .read(&mut first)
                .map_err(|e| wrap("no answer from", e))?;
            if n == 0 {
                return Err(wrap(
                    "closed without answering:",
                    io::Error::from(io::ErrorKind::UnexpectedEof),
                ));
            }
            first.truncate(n);
            Ok(first)
        };
        match attempt() {
            Ok(first) => return Ok((conn, first)),
            Err(e) => {
                // A request that may have had its effect is not sent twice.
                let next = retry && !left.is_empty();
                if next {
                    eprintln!("berth-demo proxy: {e}; trying the next address");
                }
                last_err = e;
                if !next {
                    break;
                }
            }
        }
    }
    Err(last_err)
}

/// Reads the request line and headers up to the blank line; `None` when the
/// client closed without sending anything.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Vec<String>>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        reader.by_ref().take(MAX_LINE).read_line(&mut line)?;
        if line.is_empty() && head.is_empty() {
            return Ok(None);
        }
        if !line.ends_with('\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too long or truncated",
            ));
        }
        if line.trim_end_matches(['\r', '\n']).is_empty() {
            if head.is_empty() {
                continue; // Tolerate a stray CRLF before the request line.
            }
            return Ok(Some(head));
        }
        if head.len() > MAX_HEADERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "too many header lines",
            ));
        }
        head.push(line);
    }
}

/// The header's name if `line` is a header named like one of `names`
/// (case-insensitive).
fn header_is(line: &str, names: &[&str]) -> bool {
    line.split_once(':')
        .is_some_and(|(name, _)| names.iter().any(|n| name.trim().eq_ignore_ascii_case(n)))
}

/// The request body's length from `Content-Length`; a chunked body is not
/// supported (411/501 answers as an error tuple).
pub fn body_length(headers: &[String]) -> Result<u64, (u16, &'static str, String)> {
    let mut len = 0;
    for line in headers {
        if header_is(line, &["Transfer-Encoding"]) {
            return Err((
                501,
                "Not Implemented",
                "chunked request bodies are not supported".into(),
            ));
        }
        if header_is(line, &["Content-Length"]) {
            let value = line.split_once(':').map_or("", |(_, v)| v).trim();
            len = value.parse().map_err(|_| {
                (
                    400,
                    "Bad Request",
                    format!("invalid Content-Length `{value}`"),
                )
            })?;
        }
    }
    if len > MAX_BODY {
        return Err((
            413,
            "Payload Too Large",
            format!("request body over {MAX_BODY} bytes"),
        ));
    }
    Ok(len)
}

/// The head sent upstream: the request line and the client's headers
/// without the hop-by-hop ones, then `Connection: close`.
pub fn rewrite_head(head: &[String]) -> String {
    let mut out = String::new();
    for (i, line) in head.iter().enumerate() {
        if i > 0 && header_is(line, &["Connection", "Keep-Alive", "Proxy-Connection"]) {
            continue;
        }
        out.push_str(line.trim_end_matches(['\r', '\n']));
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| format!("{l}\r\n")).collect()
    }

    #[test]
    fn upstreams() {
        assert_eq!(
            parse_upstream("web:5000"),
            Ok(Upstream {
                host: "web".into(),
                port: 5000
            })
        );
        assert!(parse_upstream("web").is_err());
        assert!(parse_upstream(":5000").is_err());
        assert!(parse_upstream("web:x").is_err());
        assert!(parse_upstream("http://web:5000").is_err());
    }

    #[test]
    fn head_rewritten() {
        let head = lines(&[
            "GET /x HTTP/1.1",
            "Host: localhost:8080",
            "connection: keep-alive",
            "Keep-Alive: timeout=5",
            "Accept: */*",
        ]);
        assert_eq!(
            rewrite_head(&head),
            "GET /x HTTP/1.1\r\nHost: localhost:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn read_head_stops_at_blank_line() {
        let mut input = io::Cursor::new(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody".to_vec());
        assert_eq!(
            read_head(&mut input).unwrap(),
            Some(lines(&["GET / HTTP/1.1", "Host: a"]))
        );
        assert_eq!(read_head(&mut io::Cursor::new(Vec::new())).unwrap(), None);
        assert!(read_head(&mut io::Cursor::new(b"GET / HTTP/1.1".to_vec())).is_err());
    }

    #[test]
    fn body_lengths() {
        assert_eq!(body_length(&lines(&["Host: a"])), Ok(0));
        assert_eq!(body_length(&lines(&["content-length: 12"])), Ok(12));
        assert_eq!(
            body_length(&lines(&["Content-Length: x"])).unwrap_err().0,
            400
        );
        assert_eq!(
            body_length(&lines(&["Transfer-Encoding: chunked"]))
                .unwrap_err()
                .0,
            501
        );
        assert_eq!(
            body_length(&lines(&["Content-Length: 999999999"]))
                .unwrap_err()
                .0,
            413
        );
    }

    /// A one-shot upstream on 127.0.0.1 that answers `answer` (or closes
    /// without answering when it is empty).
    fn upstream(answer: &'static str) -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            read_head(&mut reader).unwrap();
            let mut conn = conn;
            conn.write_all(answer.as_bytes()).unwrap();
        });
        addr
    }

    /// An address nothing listens on.
    fn closed() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap()
    }

    fn answer_of(result: io::Result<(TcpStream, Vec<u8>)>) -> String {
        let (mut conn, mut answer) = result.unwrap();
        conn.read_to_end(&mut answer).unwrap();
        String::from_utf8(answer).unwrap()
    }

    const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

    #[test]
    fn forwards_to_the_first_that_answers() {
        let live = upstream(OK);
        assert_eq!(
            answer_of(forward(
                REQUEST,
                &[closed(), live],
                true,
                &Recent::default()
            )),
            OK
        );
    }

    #[test]
    fn skips_an_upstream_that_closes_without_answering() {
        let (silent, live) = (upstream(""), upstream(OK));
        assert_eq!(
            answer_of(forward(REQUEST, &[silent, live], true, &Recent::default())),
            OK
        );
    }

    #[test]
    fn does_not_resend_a_non_idempotent_request() {
        let (silent, live) = (upstream(""), upstream(OK));
        let err = forward(
            b"POST / HTTP/1.1\r\n\r\n",
            &[silent, live],
            false,
            &Recent::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("closed without answering"),
            "{err}"
        );
    }

    #[test]
    fn tries_what_failed_recently_last() {
        let (dead, live) = (closed(), upstream(OK));
        let recent = Recent::default();
        assert_eq!(
            answer_of(forward(REQUEST, &[dead, live], true, &recent)),
            OK
        );
        assert_eq!(recent.order(&[dead, live]), vec![live, dead]);
        recent.connected(dead);
        assert_eq!(recent.order(&[dead, live]), vec![dead, live]);
    }

    /// An upstream that answers each request with its body, once.
    fn echo() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let head = read_head(&mut reader).unwrap().unwrap();
            let mut body = Vec::new();
            let len = body_length(&head[1..]).unwrap();
            reader.take(len).read_to_end(&mut body).unwrap();
            let close = head.iter().any(|l| l == "Connection: close\r\n");
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}{}",
                body.len() + 6,
                String::from_utf8(body).unwrap(),
                if close { " close" } else { " open!" }
            )
            .unwrap();
        });
        addr
    }

    #[test]
    fn serves_a_request_with_a_body() {
        let up = echo();
        let upstream = Upstream {
            host: "127.0.0.1".into(),
            port: up.port(),
        };
        let proxy = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = proxy.local_addr().unwrap();
        std::thread::spawn(move || {
            let (conn, _) = proxy.accept().unwrap();
            serve_connection(conn, &upstream, &Recent::default()).unwrap();
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .write_all(b"POST /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert!(answer.ends_with("\r\n\r\nhello close"), "{answer}");
    }

    #[test]
    fn fails_when_none_answers() {
        let err = forward(REQUEST, &[closed(), closed()], true, &Recent::default()).unwrap_err();
        assert!(err.to_string().contains("cannot connect"), "{err}");
        assert!(forward(REQUEST, &[], true, &Recent::default()).is_err());
    }
}
