//! `probe`: a healthcheck for images without a shell or curl. Exits 0 if the
//! target is reachable (for HTTP: answers 2xx), 1 otherwise, printing one line
//! either way.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use crate::http;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Runs `probe tcp HOST:PORT` or `probe http URL`.
pub fn run(kind: &str, target: &str) -> ExitCode {
    let result = match kind {
        "tcp" => probe_tcp(target),
        "http" => probe_http(target),
        _ => {
            eprintln!("berth-demo: unknown probe `{kind}`: expected `tcp` or `http`");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(detail) => {
            println!("probe {kind} {target}: ok ({detail})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("probe {kind} {target}: failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn probe_tcp(target: &str) -> Result<String, String> {
    let (host, port) = target
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("invalid target `{target}`: expected HOST:PORT"))?;
    let conn = connect(host, port, TIMEOUT).map_err(|e| e.to_string())?;
    Ok(format!(
        "connected to {}",
        conn.peer_addr().map_err(|e| e.to_string())?
    ))
}

fn probe_http(url: &str) -> Result<String, String> {
    let url = http::parse_http_url(url)?;
    let mut conn = connect(url.host, url.port, TIMEOUT).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        conn,
        "GET {} HTTP/1.0\r\nHost: {}:{}\r\nUser-Agent: berth-demo-probe\r\nConnection: close\r\n\r\n",
        url.path, url.host, url.port
    )
    .map_err(|e| format!("failed to send request: {e}"))?;
    let mut status_line = String::new();
    BufReader::new(&conn)
        .take(8 * 1024)
        .read_line(&mut status_line)
        .map_err(|e| format!("failed to read response: {e}"))?;
    match http::parse_status_line(&status_line) {
        Some(code @ 200..=299) => Ok(format!("HTTP {code}")),
        Some(code) => Err(format!("HTTP {code}")),
        None => Err(format!(
            "not an HTTP response: `{}`",
            status_line.trim_end()
        )),
    }
}

/// Resolves `host` and connects to the first address that accepts within
/// `timeout`.
pub fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve `{host}`: {e}")))?;
    let mut last_err = io::Error::new(
        io::ErrorKind::NotFound,
        format!("`{host}` resolved to no addresses"),
    );
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(conn) => return Ok(conn),
            Err(e) => last_err = io::Error::new(e.kind(), format!("cannot connect to {addr}: {e}")),
        }
    }
    Err(last_err)
}
