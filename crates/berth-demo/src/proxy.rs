//! `proxy`: an HTTP reverse proxy in front of a service's replicas, for
//! measuring rollouts. Every request is forwarded to `$UPSTREAM`
//! (`HOST:PORT`, e.g. `web:5000`), whose name is resolved again for each
//! request: inside a container that asks Docker's embedded DNS, so a new
//! replica is used as soon as its name resolves and a removed one is dropped.
//! The addresses are tried in turn (1 s connect timeout each); a GET or HEAD
//! whose upstream closes without answering moves on to the next address too,
//! so a replica that is going away does not fail the request while another
//! one answers. `502 Bad Gateway` when none answers.
//!
//! One request per connection: the request goes upstream with
//! `Connection: close` and the answer is copied back until the upstream
//! closes. A thread per connection.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::http;

/// How long one upstream address gets to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
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
        let upstream = Arc::clone(&upstream);
        std::thread::spawn(move || {
            if let Err(e) = serve_connection(conn, &upstream) {
                eprintln!("berth-demo proxy: connection error: {e}");
            }
        });
    }
    Ok(())
}

/// Reads one request, forwards it, copies the answer back, closes.
fn serve_connection(mut client: TcpStream, upstream: &Upstream) -> io::Result<()> {
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
    reader.take(body_len).read_to_end(&mut request)?;
    if (request.len() as u64) < body_len {
        return Ok(()); // The client closed before sending its body.
    }

    let retry = matches!(method.as_str(), "GET" | "HEAD");
    let forwarded = resolve(upstream).and_then(|addrs| forward(&request, &addrs, retry));
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

/// Sends `request` to the first of `addrs` that accepts it and answers;
/// returns that connection and the first bytes of its answer. With `retry`
/// (idempotent requests), an address that accepts but closes or fails
/// before answering is skipped as well.
pub fn forward(
    request: &[u8],
    addrs: &[SocketAddr],
    retry: bool,
) -> io::Result<(TcpStream, Vec<u8>)> {
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, "no addresses to try");
    for (i, addr) in addrs.iter().enumerate() {
        // Err((sent, error)): `sent` once the request may have reached it.
        let attempt = || -> Result<(TcpStream, Vec<u8>), (bool, io::Error)> {
            let wrap = |sent, what: &str, e: io::Error| {
                (
                    sent,
                    io::Error::new(e.kind(), format!("{what} {addr}: {e}")),
                )
            };
            let mut conn = TcpStream::connect_timeout(addr, CONNECT_TIMEOUT)
                .map_err(|e| wrap(false, "cannot connect to", e))?;
            let timeouts = conn
                .set_read_timeout(Some(UPSTREAM_TIMEOUT))
                .and_then(|()| conn.set_write_timeout(Some(UPSTREAM_TIMEOUT)));
            timeouts.map_err(|e| wrap(false, "cannot set timeouts on", e))?;
            conn.write_all(request)
                .and_then(|()| conn.flush())
                .map_err(|e| wrap(true, "failed to send the request to", e))?;
            let mut first = vec![0; 16 * 1024];
            let n = conn
                .read(&mut first)
                .map_err(|e| wrap(true, "no answer from", e))?;
            if n == 0 {
                return Err(wrap(
                    true,
                    "closed without answering:",
                    io::Error::from(io::ErrorKind::UnexpectedEof),
                ));
            }
            first.truncate(n);
            Ok((conn, first))
        };
        match attempt() {
            Ok(answer) => return Ok(answer),
            Err((sent, e)) => {
                let next = i + 1 < addrs.len() && (retry || !sent);
                if next {
                    eprintln!("berth-demo proxy: {e}; trying the next address");
                }
                last_err = e;
                if !next {
                    break; // A request that may have had its effect is not sent twice.
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
        assert_eq!(answer_of(forward(REQUEST, &[closed(), live], true)), OK);
    }

    #[test]
    fn skips_an_upstream_that_closes_without_answering() {
        let (silent, live) = (upstream(""), upstream(OK));
        assert_eq!(answer_of(forward(REQUEST, &[silent, live], true)), OK);
    }

    #[test]
    fn does_not_resend_a_non_idempotent_request() {
        let (silent, live) = (upstream(""), upstream(OK));
        let err = forward(b"POST / HTTP/1.1\r\n\r\n", &[silent, live], false).unwrap_err();
        assert!(
            err.to_string().contains("closed without answering"),
            "{err}"
        );
    }

    #[test]
    fn fails_when_none_answers() {
        let err = forward(REQUEST, &[closed(), closed()], true).unwrap_err();
        assert!(err.to_string().contains("cannot connect"), "{err}");
        assert!(forward(REQUEST, &[], true).is_err());
    }
}
