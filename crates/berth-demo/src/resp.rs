//! RESP2, the Redis wire protocol: parsing client commands (multibulk and
//! inline), and encoding/parsing replies.
//!
//! Only what `kv` serves and `web` sends is covered; see
//! <https://redis.io/docs/latest/develop/reference/protocol-spec/>.

use std::fmt;
use std::io::{self, BufRead, Read};

/// Longest line (inline command, or a `*`/`$`/`:` header) accepted.
const MAX_LINE: u64 = 64 * 1024;
/// Largest bulk string accepted; real Redis allows 512 MiB, a demo needs less.
const MAX_BULK: usize = 16 * 1024 * 1024;
/// Most arguments in one multibulk command.
const MAX_ARGS: usize = 1024 * 1024;

/// A failure to read a command or reply.
#[derive(Debug)]
pub enum RespError {
    Io(io::Error),
    /// The peer broke the protocol; the connection cannot be resynchronized.
    Protocol(String),
}

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RespError::Io(e) => write!(f, "{e}"),
            RespError::Protocol(msg) => write!(f, "protocol error: {msg}"),
        }
    }
}

impl From<io::Error> for RespError {
    fn from(e: io::Error) -> Self {
        RespError::Io(e)
    }
}

fn protocol(msg: impl Into<String>) -> RespError {
    RespError::Protocol(msg.into())
}

/// A RESP2 reply value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    /// `None` is the null bulk string, `$-1`.
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Reply {
    /// Appends the wire encoding of this reply to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
            Reply::Error(s) => out.extend_from_slice(format!("-{s}\r\n").as_bytes()),
            Reply::Integer(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            Reply::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
            Reply::Bulk(Some(b)) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for item in items {
                    item.encode(out);
                }
            }
        }
    }
}

/// Encodes a command as a multibulk array, as clients send it.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    Reply::Array(args.iter().map(|a| Reply::Bulk(Some(a.to_vec()))).collect()).encode(&mut out);
    out
}

/// Reads one line ending in `\n`, without the `\r\n` (or bare `\n`).
/// Returns `None` on a clean EOF before any byte.
fn read_line(r: &mut impl BufRead) -> Result<Option<Vec<u8>>, RespError> {
    let mut line = Vec::new();
    r.by_ref().take(MAX_LINE).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(if line.len() as u64 >= MAX_LINE {
            protocol("line too long")
        } else {
            RespError::Io(io::ErrorKind::UnexpectedEof.into())
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// Like [`read_line`], but EOF is an error.
fn expect_line(r: &mut impl BufRead) -> Result<Vec<u8>, RespError> {
    read_line(r)?.ok_or_else(|| RespError::Io(io::ErrorKind::UnexpectedEof.into()))
}

fn parse_int(digits: &[u8], what: &str) -> Result<i64, RespError> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            protocol(format!(
                "invalid {what} `{}`",
                String::from_utf8_lossy(digits)
            ))
        })
}

/// Reads a bulk string body of `len` bytes plus its trailing `\r\n`.
fn read_bulk_body(r: &mut impl BufRead, len: i64) -> Result<Vec<u8>, RespError> {
    let len = usize::try_from(len)
        .ok()
        .filter(|&n| n <= MAX_BULK)
        .ok_or_else(|| protocol(format!("invalid bulk length {len}")))?;
    let mut body = vec![0; len + 2];
    r.read_exact(&mut body)?;
    if !body.ends_with(b"\r\n") {
        return Err(protocol("bulk string not terminated by CRLF"));
    }
    body.truncate(len);
    Ok(body)
}

/// Reads one client command: a multibulk array of bulk strings
/// (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or an inline command (`GET k\r\n`),
/// split on whitespace without quote handling.
///
/// Returns `Ok(None)` on EOF between commands. An empty command (blank inline
/// line, `*0`) is returned as an empty vector, for the caller to skip.
pub fn read_command(r: &mut impl BufRead) -> Result<Option<Vec<Vec<u8>>>, RespError> {
    let Some(line) = read_line(r)? else {
        return Ok(None);
    };
    let Some(count) = line.strip_prefix(b"*") else {
        let args = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|a| !a.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        return Ok(Some(args));
    };
    let count = parse_int(count, "multibulk length")?;
    if count <= 0 {
        return Ok(Some(Vec::new()));
    }
    let count = usize::try_from(count)
        .ok()
        .filter(|&n| n <= MAX_ARGS)
        .ok_or_else(|| protocol(format!("invalid multibulk length {count}")))?;
    let mut args = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let header = expect_line(r)?;
        let Some(len) = header.strip_prefix(b"$") else {
            return Err(protocol(format!(
                "expected '$', got `{}`",
                String::from_utf8_lossy(&header)
            )));
        };
        args.push(read_bulk_body(r, parse_int(len, "bulk length")?)?);
    }
    Ok(Some(args))
}

/// Reads one reply, as a client does.
pub fn read_reply(r: &mut impl BufRead) -> Result<Reply, RespError> {
    let line = expect_line(r)?;
    let (kind, rest) = line
        .split_first()
        .ok_or_else(|| protocol("empty reply line"))?;
    let text = || String::from_utf8_lossy(rest).into_owned();
    Ok(match kind {
        b'+' => Reply::Simple(text()),
        b'-' => Reply::Error(text()),
        b':' => Reply::Integer(parse_int(rest, "integer")?),
        b'$' => match parse_int(rest, "bulk length")? {
            -1 => Reply::Bulk(None),
            len => Reply::Bulk(Some(read_bulk_body(r, len)?)),
        },
        b'*' => match parse_int(rest, "array length")? {
            -1 => Reply::Array(Vec::new()),
            n if (0..=MAX_ARGS as i64).contains(&n) => {
                Reply::Array((0..n).map(|_| read_reply(r)).collect::<Result<_, _>>()?)
            }
            n => return Err(protocol(format!("invalid array length {n}"))),
        },
        other => return Err(protocol(format!("unknown reply type `{}`", *other as char))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut r = input;
        let mut out = Vec::new();
        while let Some(cmd) = read_command(&mut r).unwrap() {
            out.push(cmd);
        }
        out
    }

    fn args(strs: &[&str]) -> Vec<Vec<u8>> {
        strs.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_command() {
        assert_eq!(
            commands(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"),
            vec![args(&["SET", "k", "hello"])]
        );
    }

    #[test]
    fn bulk_strings_are_binary_safe() {
        assert_eq!(
            commands(b"*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n"),
            vec![args(&["ECHO", "a\r\nb"])]
        );
        assert_eq!(
            commands(b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n"),
            vec![args(&["GET", ""])]
        );
    }

    #[test]
    fn inline_commands_split_on_whitespace() {
        assert_eq!(
            commands(b"PING\r\nSET  k\tv\nGET k\r\n"),
            vec![
                args(&["PING"]),
                args(&["SET", "k", "v"]),
                args(&["GET", "k"])
            ]
        );
    }

    #[test]
    fn empty_commands_are_returned_empty() {
        assert_eq!(commands(b"\r\n*0\r\n"), vec![args(&[]), args(&[])]);
    }

    #[test]
    fn pipelined_mixed_commands() {
        assert_eq!(
            commands(b"*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n"),
            vec![args(&["PING"]), args(&["PING"]), args(&["INCR", "hits"])]
        );
    }

    #[test]
    fn eof_between_commands_is_none() {
        assert!(read_command(&mut &b""[..]).unwrap().is_none());
    }

    fn protocol_error(input: &[u8]) -> String {
        match read_command(&mut &input[..]) {
            Err(RespError::Protocol(msg)) => msg,
            other => panic!("expected protocol error, got {other:?}"),
        }
    }

    #[test]
    fn malformed_multibulk_is_a_protocol_error() {
        assert_eq!(protocol_error(b"*x\r\n"), "invalid multibulk length `x`");
        assert_eq!(
            protocol_error(b"*1\r\n+GET\r\n"),
            "expected '$', got `+GET`"
        );
        assert_eq!(protocol_error(b"*1\r\n$-3\r\n"), "invalid bulk length -3");
        assert_eq!(
            protocol_error(b"*1\r\n$3\r\nGETxx"),
            "bulk string not terminated by CRLF"
        );
        assert_eq!(
            protocol_error(b"*1\r\n$99999999999\r\n"),
            "invalid bulk length 99999999999"
        );
    }

    #[test]
    fn truncated_input_is_an_io_error() {
        for input in [&b"*2\r\n$3\r\nGET\r\n"[..], b"*1\r\n$3\r\nGE", b"PING"] {
            match read_command(&mut &input[..]) {
                Err(RespError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
                other => panic!("expected EOF error for {input:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn overlong_line_is_a_protocol_error() {
        let input = vec![b'a'; MAX_LINE as usize + 10];
        assert_eq!(protocol_error(&input), "line too long");
    }

    #[test]
    fn replies_round_trip() {
        let replies = [
            Reply::Simple("OK".into()),
            Reply::Error("ERR unknown command 'FOO'".into()),
            Reply::Integer(-42),
            Reply::Bulk(None),
            Reply::Bulk(Some(b"a\r\nb".to_vec())),
            Reply::Array(vec![]),
            Reply::Array(vec![Reply::Integer(1), Reply::Bulk(Some(b"x".to_vec()))]),
        ];
        let mut wire = Vec::new();
        for reply in &replies {
            reply.encode(&mut wire);
        }
        let mut r = &wire[..];
        for reply in &replies {
            assert_eq!(&read_reply(&mut r).unwrap(), reply);
        }
        assert!(r.is_empty());
    }

    #[test]
    fn reply_encoding() {
        let mut out = Vec::new();
        Reply::Bulk(Some(b"hi".to_vec())).encode(&mut out);
        Reply::Bulk(None).encode(&mut out);
        Reply::Integer(7).encode(&mut out);
        assert_eq!(out, b"$2\r\nhi\r\n$-1\r\n:7\r\n");
    }

    #[test]
    fn encoded_command_parses_back() {
        let wire = encode_command(&[b"INCR", b"hits"]);
        assert_eq!(wire, b"*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n");
        assert_eq!(commands(&wire), vec![args(&["INCR", "hits"])]);
    }
}
