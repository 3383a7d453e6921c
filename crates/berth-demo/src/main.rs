//! `berth-demo`: one small static binary that plays every role berth's
//! examples and Docker tests need inside `FROM scratch` images, where there is
//! no shell, no curl and no registry to pull `redis:alpine` from.
//!
//! Subcommands (argv[1]):
//!
//! - `web` — HTTP server on `0.0.0.0:$PORT` (default 5000). `GET /` INCRs
//!   `hits` on the Redis-protocol server at `$REDIS_HOST:$REDIS_PORT`
//!   (default `redis:6379`) and names `$VERSION` when set; `GET /health`
//!   answers `ok`, or 500 once `$UNHEALTHY_AFTER` seconds have passed since
//!   start (when set).
//! - `proxy` — HTTP reverse proxy on `0.0.0.0:$PORT` (default 8080) in front
//!   of `$UPSTREAM` (`HOST:PORT`), resolving the name for every request and
//!   trying its addresses in turn; 502 when none answers.
//! - `load URL DURATION_SECS [RATE_PER_SEC]` — GET URL at a fixed rate
//!   (default 50/s) for DURATION seconds (SIGTERM/SIGINT end it early), then
//!   print `{"sent":N,"ok":N,"failed":N,"longest_gap_ms":N}`.
//! - `kv` — in-memory Redis-protocol (RESP2) store on `0.0.0.0:$PORT`
//!   (default 6379).
//! - `sleep [SECONDS]` — sleep for N seconds, or forever.
//! - `exit CODE` — exit with CODE at once.
//! - `probe tcp HOST:PORT` / `probe http URL` — healthcheck: exit 0 if the
//!   endpoint is reachable (HTTP: answers 2xx), 1 otherwise.
//!
//! Exit codes: 0 success (and on SIGTERM/SIGINT), 1 runtime failure or failed
//! probe, 2 usage error.

mod http;
mod kv;
mod load;
mod probe;
mod proxy;
mod resp;
mod signal;
mod web;

use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: berth-demo <command> [args]

commands:
  web                     HTTP server on $PORT (5000), counts hits in Redis at $REDIS_HOST:$REDIS_PORT;
                          $VERSION named in the answer, $UNHEALTHY_AFTER=SECONDS: /health fails after that
  kv                      Redis-protocol store on $PORT (6379)
  proxy                   HTTP reverse proxy on $PORT (8080) to $UPSTREAM (HOST:PORT, resolved per request)
  load URL DURATION_SECS [RATE_PER_SEC]
                          GET URL at RATE per second (50) for DURATION seconds, then print
                          {\"sent\":N,\"ok\":N,\"failed\":N,\"longest_gap_ms\":N}; SIGTERM/SIGINT end it early
  sleep [SECONDS]         sleep N seconds, or forever
  exit CODE               exit with CODE
  probe tcp HOST:PORT     exit 0 if a TCP connection succeeds
  probe http URL          exit 0 if GET URL answers 2xx (URL: http://host[:port][/path])";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["web"] => serve(web::run, 5000),
        ["kv"] => serve(kv::run, 6379),
        ["proxy"] => serve(proxy::run, 8080),
        ["load", rest @ ..] => match load::parse_args(rest) {
            Ok(args) => load::run(&args),
            Err(e) => usage_error(&e),
        },
        ["sleep"] => {
            signal::exit_on_termination();
            loop {
                std::thread::park();
            }
        }
        ["sleep", secs] => match parse_seconds(secs) {
            Some(d) => {
                signal::exit_on_termination();
                std::thread::sleep(d);
                ExitCode::SUCCESS
            }
            None => usage_error(&format!("invalid SECONDS `{secs}`")),
        },
        ["exit", code] => match code.parse::<i32>() {
            Ok(code) => std::process::exit(code),
            Err(_) => usage_error(&format!("invalid exit code `{code}`")),
        },
        ["probe", kind, target] => probe::run(kind, target),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        [] => usage_error("missing command"),
        [cmd, ..] => usage_error(&format!("unknown command or wrong arguments: `{cmd}`")),
    }
}

/// Runs a server subcommand on `$PORT` (or `default_port`), exiting 0 on
/// SIGTERM/SIGINT and 1 if the server fails to start.
fn serve(run: fn(u16) -> Result<(), String>, default_port: u16) -> ExitCode {
    let port = match env_port("PORT", default_port) {
        Ok(port) => port,
        Err(msg) => return usage_error(&msg),
    };
    signal::exit_on_termination();
    match run(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads a port number from the environment variable `name`.
pub fn env_port(name: &str, default: u16) -> Result<u16, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("invalid ${name} `{v}`: expected a port number")),
        Err(_) => Ok(default),
    }
}

/// Parses a non-negative, finite number of seconds (`1`, `0.5`).
pub fn parse_seconds(s: &str) -> Option<Duration> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..1e9).contains(&v) => Some(Duration::from_secs_f64(v)),
        _ => None,
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("berth-demo: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_seconds("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_seconds("0"), Some(Duration::ZERO));
        for bad in ["", "-1", "x", "inf", "NaN", "1e10"] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
    }
}
