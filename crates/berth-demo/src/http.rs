//! Just enough HTTP/1.x for `web` and `probe http`: request and status line
//! parsing, `http://` URL parsing, and response writing. Pure functions
//! except [`write_response`].

use std::io::{self, Write};

/// A parsed request line, e.g. `GET /health?x=1 HTTP/1.1`.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a str,
    /// The target without its query string.
    pub path: &'a str,
    pub version: &'a str,
}

/// Parses `METHOD SP TARGET SP HTTP/1.x`, with or without a trailing CRLF.
pub fn parse_request_line(line: &str) -> Result<RequestLine<'_>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("malformed request line `{line}`"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("invalid method `{method}`"));
    }
    if !target.starts_with('/') {
        return Err(format!("unsupported request target `{target}`"));
    }
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Err(format!("unsupported HTTP version `{version}`"));
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    Ok(RequestLine {
        method,
        path,
        version,
    })
}

/// Parses the status code out of a status line such as `HTTP/1.1 200 OK`.
pub fn parse_status_line(line: &str) -> Option<u16> {
    let mut parts = line.trim_end_matches(['\r', '\n']).splitn(3, ' ');
    let version = parts.next()?;
    let code = parts.next()?;
    if !version.starts_with("HTTP/") || code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

/// An `http://host[:port][/path]` URL.
#[derive(Debug, PartialEq, Eq)]
pub struct HttpUrl<'a> {
    pub host: &'a str,
    pub port: u16,
    /// Path and query, always starting with `/`.
    pub path: &'a str,
}

/// Parses an `http://` URL; `https`, userinfo and IPv6 literals are not
/// supported.
pub fn parse_http_url(url: &str) -> Result<HttpUrl<'_>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("unsupported URL `{url}`: expected http://host[:port][/path]"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse()
                .map_err(|_| format!("invalid port `{port}` in URL `{url}`"))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() || host.contains(['@', '[', ']']) {
        return Err(format!("invalid host `{host}` in URL `{url}`"));
    }
    Ok(HttpUrl { host, port, path })
}

/// Writes a complete `Connection: close` response with a plain-text body,
/// in one write.
pub fn write_response(
    out: &mut impl Write,
    status: u16,
    reason: &str,
    body: &str,
) -> io::Result<()> {
    // One write: `write!` on a socket sends each piece on its own, and a
    // server stopped between two pieces leaves its client half a status line.
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    out.write_all(response.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line() {
        assert_eq!(
            parse_request_line("GET / HTTP/1.1\r\n"),
            Ok(RequestLine {
                method: "GET",
                path: "/",
                version: "HTTP/1.1"
            })
        );
        assert_eq!(
            parse_request_line("HEAD /health?verbose=1 HTTP/1.0"),
            Ok(RequestLine {
                method: "HEAD",
                path: "/health",
                version: "HTTP/1.0"
            })
        );
    }

    #[test]
    fn malformed_request_lines() {
        assert_eq!(
            parse_request_line(""),
            Err("malformed request line ``".into())
        );
        assert_eq!(
            parse_request_line("GET /\r\n"),
            Err("malformed request line `GET /`".into())
        );
        assert_eq!(
            parse_request_line("GET  / HTTP/1.1"),
            Err("malformed request line `GET  / HTTP/1.1`".into())
        );
        assert_eq!(
            parse_request_line("get / HTTP/1.1"),
            Err("invalid method `get`".into())
        );
        assert_eq!(
            parse_request_line("GET http://x/ HTTP/1.1"),
            Err("unsupported request target `http://x/`".into())
        );
        assert_eq!(
            parse_request_line("GET / HTTP/2.0"),
            Err("unsupported HTTP version `HTTP/2.0`".into())
        );
    }

    #[test]
    fn status_line() {
        assert_eq!(parse_status_line("HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status_line("HTTP/1.0 503 Service Unavailable"),
            Some(503)
        );
        assert_eq!(parse_status_line("HTTP/1.1 204"), Some(204));
        assert_eq!(parse_status_line("SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status_line("HTTP/1.1 2000 OK"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:5000/health"),
            Ok(HttpUrl {
                host: "127.0.0.1",
                port: 5000,
                path: "/health"
            })
        );
        assert_eq!(
            parse_http_url("http://web"),
            Ok(HttpUrl {
                host: "web",
                port: 80,
                path: "/"
            })
        );
        assert!(parse_http_url("https://web/").is_err());
        assert!(parse_http_url("http://web:x/").is_err());
        assert!(parse_http_url("http://:80/").is_err());
    }

    #[test]
    fn response() {
        let mut out = Vec::new();
        write_response(&mut out, 200, "OK", "ok\n").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 3\r\nConnection: close\r\n\r\nok\n"
        );
    }
}
