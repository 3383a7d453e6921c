//! `load URL DURATION_SECS [RATE_PER_SEC]`: a bounded load generator for
//! measuring downtime. Sends `GET URL` at a fixed rate (default 50 per
//! second) for DURATION seconds and prints one JSON line:
//!
//! ```text
//! {"sent":N,"ok":N,"failed":N,"longest_gap_ms":N}
//! ```
//!
//! A request is due every 1/RATE seconds from the start, whatever happened to
//! the ones before. Each has 2 s to connect, send and read the whole answer;
//! it counts as ok when the answer is 2xx, else (another status, refused,
//! reset, timed out) as failed. `longest_gap_ms` is the longest time without
//! a successful answer: between two consecutive ones, from the start to the
//! first, and from the last to the end. It is what a user of the service
//! would call the downtime.
//!
//! Workers: enough that requests keep their schedule even when every one
//! waits out its timeout (RATE × 2 s + 1, at most 256), so a stalled upstream
//! shows as failures and a gap rather than as fewer requests sent.
//!
//! SIGTERM or SIGINT ends the run early: no new request is sent, those in
//! flight finish (at most 2 s), and the line is printed for the time until
//! the signal. A failure summary (counts by cause) goes to stderr.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::http;
use crate::signal;

/// Each request's whole budget: connect, send, read the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_RATE: f64 = 50.0;
const MAX_WORKERS: usize = 256;
/// How often waiting threads look for the end of the run.
const POLL: Duration = Duration::from_millis(20);

/// The parsed command line.
#[derive(Debug, PartialEq)]
pub struct LoadArgs<'a> {
    pub url: &'a str,
    pub duration: Duration,
    /// Requests per second.
    pub rate: f64,
}

/// Parses `URL DURATION_SECS [RATE_PER_SEC]`.
pub fn parse_args<'a>(args: &[&'a str]) -> Result<LoadArgs<'a>, String> {
    let (url, duration, rate) = match args {
        [url, duration] => (*url, *duration, None),
        [url, duration, rate] => (*url, *duration, Some(*rate)),
        _ => return Err("expected: load URL DURATION_SECS [RATE_PER_SEC]".into()),
    };
    http::parse_http_url(url)?;
    let duration = crate::parse_seconds(duration)
        .ok_or_else(|| format!("invalid DURATION_SECS `{duration}`"))?;
    if duration.is_zero() {
        return Err("DURATION_SECS must be more than 0".into());
    }
    let rate = match rate {
        None => DEFAULT_RATE,
        Some(r) => match r.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 && v <= 10_000.0 => v,
            _ => {
                return Err(format!(
                    "invalid RATE_PER_SEC `{r}`: expected 0 < RATE <= 10000"
                ));
            }
        },
    };
    Ok(LoadArgs {
        url,
        duration,
        rate,
    })
}

/// Workers needed to keep the schedule when every request times out.
pub fn workers_for(rate: f64) -> usize {
    ((rate * REQUEST_TIMEOUT.as_secs_f64()).ceil() as usize + 1).clamp(1, MAX_WORKERS)
}

/// The longest time without a success in `[0, end]`: between consecutive
/// successes (times since the start, in any order), before the first and
/// after the last. All of `end` when there is none.
pub fn longest_gap(successes: &[Duration], end: Duration) -> Duration {
    let mut times = successes.to_vec();
    times.sort();
    let mut longest = Duration::ZERO;
    let mut last = Duration::ZERO;
    for t in times {
        longest = longest.max(t.saturating_sub(last));
        last = last.max(t);
    }
    longest.max(end.saturating_sub(last))
}

/// What a run counted.
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub longest_gap_ms: u128,
}

impl Summary {
    /// The one JSON line the command prints.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"sent\":{},\"ok\":{},\"failed\":{},\"longest_gap_ms\":{}}}",
            self.sent, self.ok, self.failed, self.longest_gap_ms
        )
    }
}

/// Results gathered by the workers.
#[derive(Default)]
struct Tally {
    /// When each success completed, since the start.
    successes: Vec<Duration>,
    /// Failures by cause.
    failures: BTreeMap<String, u64>,
}

/// Runs the load and prints the summary.
pub fn run(args: &LoadArgs) -> ExitCode {
    signal::note_termination();
    let url = match http::parse_http_url(args.url) {
        Ok(url) => url,
        Err(e) => {
            eprintln!("berth-demo: {e}");
            return ExitCode::from(2);
        }
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: berth-demo-load\r\nConnection: close\r\n\r\n",
        url.path, url.host, url.port
    );
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let tally = Mutex::new(Tally::default());
    let workers = workers_for(args.rate);
    let start = Instant::now();
    let end = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                worker(
                    start,
                    args,
                    (url.host, url.port),
                    &request,
                    &next,
                    &stop,
                    &tally,
                )
            });
        }
        // The run ends at DURATION or at a signal; then the workers stop
        // taking new slots and finish what is in flight.
        let end = loop {
            let now = start.elapsed();
            if now >= args.duration {
                break args.duration;
            }
            if signal::termination_requested() {
                break now;
            }
            std::thread::sleep(POLL.min(args.duration - now));
        };
        stop.store(true, Ordering::SeqCst);
        end
    });
    let tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    let ok = tally.successes.len() as u64;
    let failed: u64 = tally.failures.values().sum();
    let summary = Summary {
        sent: ok + failed,
        ok,
        failed,
        longest_gap_ms: longest_gap(&tally.successes, end).as_millis(),
    };
    if failed > 0 {
        let causes: Vec<String> = tally
            .failures
            .iter()
            .map(|(cause, n)| format!("{n} × {cause}"))
            .collect();
        eprintln!("berth-demo load: {failed} failed: {}", causes.join(", "));
    }
    println!("{}", summary.to_json());
    ExitCode::SUCCESS
}

/// Takes the next slot, waits until it is due, sends; until the run ends.
fn worker(
    start: Instant,
    args: &LoadArgs,
    target: (&str, u16),
    request: &str,
    next: &AtomicU64,
    stop: &AtomicBool,
    tally: &Mutex<Tally>,
) {
    loop {
        let slot = next.fetch_add(1, Ordering::SeqCst);
        let due = Duration::from_secs_f64(slot as f64 / args.rate);
        if due >= args.duration {
            return;
        }
        loop {
            if stop.load(Ordering::SeqCst) || signal::termination_requested() {
                return;
            }
            let now = start.elapsed();
            if now >= due {
                break;
            }
            std::thread::sleep(POLL.min(due - now));
        }
        let result = get(target, request.as_bytes());
        let done = start.elapsed();
        let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(()) => tally.successes.push(done),
            Err(cause) => *tally.failures.entry(cause).or_default() += 1,
        }
    }
}

/// One request within [`REQUEST_TIMEOUT`]: Ok on a complete 2xx answer,
/// else the cause (kept short: failures are counted by it).
fn get((host, port): (&str, u16), request: &[u8]) -> Result<(), String> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| "timed out".to_string())
    };
    let io_cause = |e: io::Error| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "timed out".to_string(),
        _ => e.to_string(),
    };
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
        .collect();
    let mut conn = None;
    let mut last = format!("`{host}` resolved to no addresses");
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, remaining()?) {
            Ok(c) => {
                conn = Some(c);
                break;
            }
            Err(e) => last = format!("cannot connect: {}", io_cause(e)),
        }
    }
    let mut conn = conn.ok_or(last)?;
    conn.set_write_timeout(Some(remaining()?))
        .map_err(io_cause)?;
    conn.write_all(request).map_err(io_cause)?;
    let mut reader = BufReader::new(conn);
    let mut status_line = String::new();
    reader
        .get_ref()
        .set_read_timeout(Some(remaining()?))
        .map_err(io_cause)?;
    reader
        .by_ref()
        .take(8 * 1024)
        .read_line(&mut status_line)
        .map_err(io_cause)?;
    let status = match http::parse_status_line(&status_line) {
        Some(code) => code,
        None if status_line.is_empty() => return Err("closed without answering".into()),
        None => return Err("not an HTTP answer".into()),
    };
    // The rest of the answer, until the server closes (Connection: close).
    let mut buf = [0; 16 * 1024];
    loop {
        reader
            .get_ref()
            .set_read_timeout(Some(remaining()?))
            .map_err(io_cause)?;
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("answer cut short: {}", io_cause(e))),
        }
    }
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn args() {
        assert_eq!(
            parse_args(&["http://127.0.0.1:8080/", "10"]),
            Ok(LoadArgs {
                url: "http://127.0.0.1:8080/",
                duration: Duration::from_secs(10),
                rate: 50.0
            })
        );
        assert_eq!(
            parse_args(&["http://localhost/x", "0.5", "200"]),
            Ok(LoadArgs {
                url: "http://localhost/x",
                duration: Duration::from_millis(500),
                rate: 200.0
            })
        );
        assert!(parse_args(&["http://a/"]).is_err());
        assert!(parse_args(&["http://a/", "1", "2", "3"]).is_err());
        assert!(parse_args(&["https://a/", "1"]).is_err());
        assert!(parse_args(&["http://a/", "0"]).is_err());
        assert!(parse_args(&["http://a/", "-1"]).is_err());
        assert!(parse_args(&["http://a/", "x"]).is_err());
        assert!(parse_args(&["http://a/", "1", "0"]).is_err());
        assert!(parse_args(&["http://a/", "1", "NaN"]).is_err());
        assert!(parse_args(&["http://a/", "1", "1e9"]).is_err());
    }

    #[test]
    fn workers() {
        assert_eq!(workers_for(50.0), 101);
        assert_eq!(workers_for(0.1), 2);
        assert_eq!(workers_for(10_000.0), MAX_WORKERS);
    }

    #[test]
    fn gaps() {
        let end = Duration::from_millis(1000);
        // no success: the whole run
        assert_eq!(longest_gap(&[], end), end);
        // between two successes
        assert_eq!(
            longest_gap(&ms(&[20, 40, 60, 400, 420, 700, 980]), end),
            Duration::from_millis(340)
        );
        // from the start to the first
        assert_eq!(
            longest_gap(&ms(&[500, 600, 990]), end),
            Duration::from_millis(500)
        );
        // from the last to the end
        assert_eq!(
            longest_gap(&ms(&[10, 20, 300]), end),
            Duration::from_millis(700)
        );
        // in any order
        assert_eq!(
            longest_gap(&ms(&[980, 420, 20, 700, 60, 400, 40]), end),
            Duration::from_millis(340)
        );
        // successes after the end (requests in flight when it came)
        assert_eq!(
            longest_gap(&ms(&[100, 900, 1500]), end),
            Duration::from_millis(800)
        );
    }

    #[test]
    fn json() {
        let s = Summary {
            sent: 10,
            ok: 8,
            failed: 2,
            longest_gap_ms: 1234,
        };
        assert_eq!(
            s.to_json(),
            r#"{"sent":10,"ok":8,"failed":2,"longest_gap_ms":1234}"#
        );
    }
}
