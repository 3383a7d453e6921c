//! `kv`: a minimal in-memory Redis-protocol server, standing in for
//! `redis:alpine` where no registry is reachable.
//!
//! Commands: PING, ECHO, GET, SET, INCR, DEL, EXISTS, COMMAND (empty array),
//! QUIT. Keys and values are binary-safe byte strings; nothing is persisted.

use std::collections::HashMap;
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::resp::{self, Reply, RespError};

/// The shared key space.
pub type Store = Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>;

/// Listens on `0.0.0.0:port` and serves each connection on its own thread.
pub fn run(port: u16) -> Result<(), String> {
    let listener = TcpListener::bind(("0.0.0.0", port))
        .map_err(|e| format!("failed to listen on 0.0.0.0:{port}: {e}"))?;
    println!("berth-demo kv: listening on 0.0.0.0:{port} (Redis protocol)");
    let store = Store::default();
    for conn in listener.incoming() {
        let conn = match conn {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("berth-demo kv: failed to accept connection: {e}");
                continue;
            }
        };
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            if let Err(e) = serve_connection(conn, &store) {
                eprintln!("berth-demo kv: connection error: {e}");
            }
        });
    }
    Ok(())
}

fn serve_connection(conn: TcpStream, store: &Store) -> io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = BufWriter::new(conn);
    loop {
        let args = match resp::read_command(&mut reader) {
            Ok(Some(args)) if args.is_empty() => continue,
            Ok(Some(args)) => args,
            Ok(None) => return Ok(()),
            Err(RespError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(RespError::Io(e)) => return Err(e),
            Err(RespError::Protocol(msg)) => {
                let mut out = Vec::new();
                Reply::Error(format!("ERR Protocol error: {msg}")).encode(&mut out);
                writer.write_all(&out)?;
                return writer.flush();
            }
        };
        let (reply, quit) = execute(store, &args);
        let mut out = Vec::new();
        reply.encode(&mut out);
        writer.write_all(&out)?;
        // Flush only when no pipelined command is waiting, like Redis does.
        if quit || reader.buffer().is_empty() {
            writer.flush()?;
        }
        if quit {
            return Ok(());
        }
    }
}

/// Executes one non-empty command. Returns the reply and whether the client
/// asked to close the connection.
pub fn execute(store: &Store, args: &[Vec<u8>]) -> (Reply, bool) {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    let argc = args.len();
    let wrong_arity = || {
        Reply::Error(format!(
            "ERR wrong number of arguments for '{}' command",
            name.to_ascii_lowercase()
        ))
    };
    let mut map = store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let reply = match name.as_str() {
        "PING" => match args {
            [_] => Reply::Simple("PONG".into()),
            [_, msg] => Reply::Bulk(Some(msg.clone())),
            _ => wrong_arity(),
        },
        "ECHO" => match args {
            [_, msg] => Reply::Bulk(Some(msg.clone())),
            _ => wrong_arity(),
        },
        "GET" => match args {
            [_, key] => Reply::Bulk(map.get(key).cloned()),
            _ => wrong_arity(),
        },
        "SET" => match args {
            [_, key, value] => {
                map.insert(key.clone(), value.clone());
                Reply::Simple("OK".into())
            }
            [_, _, _, ..] => {
                Reply::Error("ERR syntax error (SET options are not supported)".into())
            }
            _ => wrong_arity(),
        },
        "INCR" => match args {
            [_, key] => incr(map.entry(key.clone()).or_insert_with(|| b"0".to_vec())),
            _ => wrong_arity(),
        },
        "DEL" | "EXISTS" if argc < 2 => wrong_arity(),
        "DEL" => Reply::Integer(
            args[1..]
                .iter()
                .filter(|k| map.remove(*k).is_some())
                .count() as i64,
        ),
        "EXISTS" => {
            Reply::Integer(args[1..].iter().filter(|k| map.contains_key(*k)).count() as i64)
        }
        "COMMAND" => Reply::Array(Vec::new()),
        "QUIT" => return (Reply::Simple("OK".into()), true),
        _ => Reply::Error(format!(
            "ERR unknown command '{}'",
            String::from_utf8_lossy(&args[0])
        )),
    };
    (reply, false)
}

/// Increments the decimal integer stored in `value` in place.
fn incr(value: &mut Vec<u8>) -> Reply {
    let Some(n) = std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return Reply::Error("ERR value is not an integer or out of range".into());
    };
    let Some(n) = n.checked_add(1) else {
        return Reply::Error("ERR increment or decrement would overflow".into());
    };
    *value = n.to_string().into_bytes();
    Reply::Integer(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(store: &Store, line: &str) -> Reply {
        let args: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
        execute(store, &args).0
    }

    fn bulk(s: &str) -> Reply {
        Reply::Bulk(Some(s.as_bytes().to_vec()))
    }

    #[test]
    fn set_get_incr_del_exists() {
        let store = Store::default();
        assert_eq!(run(&store, "GET hits"), Reply::Bulk(None));
        assert_eq!(run(&store, "INCR hits"), Reply::Integer(1));
        assert_eq!(run(&store, "incr hits"), Reply::Integer(2));
        assert_eq!(run(&store, "GET hits"), bulk("2"));
        assert_eq!(run(&store, "SET name berth"), Reply::Simple("OK".into()));
        assert_eq!(run(&store, "EXISTS name hits nope"), Reply::Integer(2));
        assert_eq!(run(&store, "DEL name nope"), Reply::Integer(1));
        assert_eq!(run(&store, "EXISTS name"), Reply::Integer(0));
    }

    #[test]
    fn incr_rejects_non_integers_and_overflow() {
        let store = Store::default();
        run(&store, "SET k abc");
        assert_eq!(
            run(&store, "INCR k"),
            Reply::Error("ERR value is not an integer or out of range".into())
        );
        run(&store, &format!("SET k {}", i64::MAX));
        assert_eq!(
            run(&store, "INCR k"),
            Reply::Error("ERR increment or decrement would overflow".into())
        );
    }

    #[test]
    fn ping_echo_command_quit() {
        let store = Store::default();
        assert_eq!(run(&store, "PING"), Reply::Simple("PONG".into()));
        assert_eq!(run(&store, "PING hi"), bulk("hi"));
        assert_eq!(run(&store, "ECHO hi"), bulk("hi"));
        assert_eq!(run(&store, "COMMAND DOCS"), Reply::Array(vec![]));
        assert_eq!(
            execute(&store, &[b"quit".to_vec()]),
            (Reply::Simple("OK".into()), true)
        );
    }

    #[test]
    fn errors() {
        let store = Store::default();
        assert_eq!(
            run(&store, "FLUSHALL"),
            Reply::Error("ERR unknown command 'FLUSHALL'".into())
        );
        assert_eq!(
            run(&store, "GET"),
            Reply::Error("ERR wrong number of arguments for 'get' command".into())
        );
        assert_eq!(
            run(&store, "DEL"),
            Reply::Error("ERR wrong number of arguments for 'del' command".into())
        );
    }
}
