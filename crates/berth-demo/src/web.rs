//! `web`: the HTTP front end of Docker's getting-started stack. `GET /`
//! counts visits in Redis; `GET /health` answers `ok`.
//!
//! For rollout tests: `$VERSION`, when set, ends the greeting with
//! `(version V)`, so a client can tell an old replica from a new one; and
//! `$UNHEALTHY_AFTER=SECONDS` makes `GET /health` answer 500 from that many
//! seconds after start (a version that turns unhealthy once deployed).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http;
use crate::probe::connect;
use crate::resp::{self, Reply};

/// Longest request line or header line accepted.
const MAX_LINE: u64 = 8 * 1024;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the hit counter lives.
struct Redis {
    host: String,
    port: u16,
}

/// What every request needs to know.
struct Web {
    redis: Redis,
    /// `$VERSION`, shown in the greeting.
    version: Option<String>,
    /// `$UNHEALTHY_AFTER`: from then on (since `started`), `/health` fails.
    unhealthy_after: Option<Duration>,
    started: Instant,
}

/// Listens on `0.0.0.0:port` and serves each connection on its own thread.
pub fn run(port: u16) -> Result<(), String> {
    let unhealthy_after = match std::env::var("UNHEALTHY_AFTER") {
        Ok(v) => Some(crate::parse_seconds(&v).ok_or_else(|| {
            format!("invalid $UNHEALTHY_AFTER `{v}`: expected a number of seconds")
        })?),
        Err(_) => None,
    };
    let web = Arc::new(Web {
        redis: Redis {
            host: std::env::var("REDIS_HOST").unwrap_or_else(|_| "redis".into()),
            port: crate::env_port("REDIS_PORT", 6379)?,
        },
        version: std::env::var("VERSION").ok().filter(|v| !v.is_empty()),
        unhealthy_after,
        started: Instant::now(),
    });
    let listener = TcpListener::bind(("0.0.0.0", port))
        .map_err(|e| format!("failed to listen on 0.0.0.0:{port}: {e}"))?;
    println!(
        "berth-demo web: listening on 0.0.0.0:{port} (HTTP), counting hits in redis at {}:{}{}{}",
        web.redis.host,
        web.redis.port,
        web.version
            .as_ref()
            .map_or(String::new(), |v| format!(", version {v}")),
        web.unhealthy_after.map_or(String::new(), |d| format!(
            ", unhealthy after {} s",
            d.as_secs_f64()
        ))
    );
    for conn in listener.incoming() {
        let conn = match conn {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("berth-demo web: failed to accept connection: {e}");
                continue;
            }
        };
        let web = Arc::clone(&web);
        std::thread::spawn(move || {
            if let Err(e) = serve_connection(conn, &web) {
                eprintln!("berth-demo web: connection error: {e}");
            }
        });
    }
    Ok(())
}

/// Serves one request, then closes the connection.
fn serve_connection(mut conn: TcpStream, web: &Web) -> io::Result<()> {
    conn.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    conn.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let request_line = read_line(&mut reader)?;
    if request_line.is_empty() {
        return Ok(()); // Closed without sending anything.
    }
    // Skip headers up to the blank line; a request body is not expected.
    loop {
        let header = read_line(&mut reader)?;
        if header.trim_end_matches(['\r', '\n']).is_empty() {
            break;
        }
    }
    let (status, reason, body) = match http::parse_request_line(&request_line) {
        Err(e) => (400, "Bad Request", format!("{e}\n")),
        Ok(req) => match (req.method, req.path) {
            ("GET", "/health") => match web.unhealthy_after {
                Some(after) if web.started.elapsed() >= after => (
                    500,
                    "Internal Server Error",
                    format!(
                        "unhealthy: $UNHEALTHY_AFTER={} s passed\n",
                        after.as_secs_f64()
                    ),
                ),
                _ => (200, "OK", "ok\n".to_string()),
            },
            ("GET", "/") => match web.redis.incr_hits() {
                Ok(n) => (200, "OK", greeting(n, web.version.as_deref())),
                Err(e) => (500, "Internal Server Error", format!("{e}\n")),
            },
            (_, "/" | "/health") => (405, "Method Not Allowed", "only GET is supported\n".into()),
            (_, path) => (404, "Not Found", format!("no such page `{path}`\n")),
        },
    };
    println!(
        "berth-demo web: {} -> {status}",
        request_line.trim_end_matches(['\r', '\n'])
    );
    http::write_response(&mut conn, status, reason, &body)
}

/// The answer to `GET /`.
fn greeting(hits: i64, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("Hello from Docker! I have been seen {hits} times. (version {v})\n"),
        None => format!("Hello from Docker! I have been seen {hits} times.\n"),
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes; empty at EOF.
fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    reader.by_ref().take(MAX_LINE).read_line(&mut line)?;
    if !line.is_empty() && !line.ends_with('\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "request line too long or truncated",
        ));
    }
    Ok(line)
}

impl Redis {
    /// INCRs `hits` over a fresh connection, so that a Redis started (or
    /// restarted) after `web` is picked up by the next request.
    fn incr_hits(&self) -> Result<i64, String> {
        let fail = |e: &dyn std::fmt::Display| {
            format!(
                "cannot count hits in redis at {}:{}: {e}",
                self.host, self.port
            )
        };
        let mut conn = connect(&self.host, self.port, REDIS_TIMEOUT).map_err(|e| fail(&e))?;
        conn.set_read_timeout(Some(REDIS_TIMEOUT))
            .map_err(|e| fail(&e))?;
        conn.write_all(&resp::encode_command(&[b"INCR", b"hits"]))
            .map_err(|e| fail(&e))?;
        match resp::read_reply(&mut BufReader::new(&conn)).map_err(|e| fail(&e))? {
            Reply::Integer(n) => Ok(n),
            Reply::Error(e) => Err(fail(&e)),
            other => Err(fail(&format!("unexpected reply {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings() {
        assert_eq!(
            greeting(3, None),
            "Hello from Docker! I have been seen 3 times.\n"
        );
        assert_eq!(
            greeting(1, Some("v2")),
            "Hello from Docker! I have been seen 1 times. (version v2)\n"
        );
    }
}
