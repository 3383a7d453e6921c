//! Text files that must be UTF-8 (compose files, env files, state, saved
//! plans), and where they are not: the first invalid byte, by line and
//! column, so the report points at it as an editor would.
//!
//! Columns are 1-based and count characters (Unicode scalar values) of the
//! valid text before the byte on its line, as the diagnostic renderer places
//! its caret: `é\xff` has the bad byte at column 2. A tab counts as one
//! column and a `\r` before the byte as one character; lines end at `\n`.

use std::fmt;
use std::io;
use std::path::Path;

/// What to tell the user to do about a file that is not UTF-8.
pub const HINT: &str = "save the file as UTF-8";

/// The first byte of a file that does not start valid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    /// The byte itself.
    pub byte: u8,
    /// 1-based line of the byte.
    pub line: u32,
    /// 1-based column, in characters of the valid text before it on its line.
    pub column: u32,
    /// Byte offset of the byte in the file.
    pub offset: usize,
    /// The whole file with every invalid sequence replaced by U+FFFD, so a
    /// report can quote the line; the prefix before `offset` is as written.
    pub lossy: String,
}

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not valid UTF-8: byte 0x{:02x} at line {}, column {}",
            self.byte, self.line, self.column
        )
    }
}

impl std::error::Error for NotUtf8 {}

/// `bytes` as text, or where they stop being UTF-8.
pub fn decode(bytes: Vec<u8>) -> Result<String, Box<NotUtf8>> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        Box::new(locate(bytes, e.utf8_error().valid_up_to()))
    })
}

/// `bytes` as text, or where they stop being UTF-8 (without copying them).
pub fn check(bytes: &[u8]) -> Result<&str, Box<NotUtf8>> {
    std::str::from_utf8(bytes).map_err(|e| Box::new(locate(bytes, e.valid_up_to())))
}

/// The invalid byte at `offset` of `bytes`, everything before it valid.
fn locate(bytes: &[u8], offset: usize) -> NotUtf8 {
    let prefix = std::str::from_utf8(&bytes[..offset]).expect("the bytes before are valid");
    let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
    let line = prefix.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = prefix[line_start..].chars().count() + 1;
    NotUtf8 {
        byte: bytes[offset],
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        offset,
        lossy: String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Reads a file as text, as [`std::fs::read_to_string`] does, except that a
/// file that is not UTF-8 is an [`io::ErrorKind::InvalidData`] error carrying
/// [`NotUtf8`] (find it with [`not_utf8`]).
pub fn read_to_string(path: &Path) -> io::Result<String> {
    decode(std::fs::read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, *e))
}

/// Where the file was not UTF-8, when `e` came from [`read_to_string`] for that reason.
pub fn not_utf8(e: &io::Error) -> Option<&NotUtf8> {
    e.get_ref()?.downcast_ref::<NotUtf8>()
}

/// Text read from a file, made safe to quote in a one-line message: control
/// characters (a newline, a tab, ESC, NUL, ...) are written as Rust escapes
/// (`\n`, `\t`, `\u{1b}`), so a state file cannot break a message over lines
/// or send escape sequences to the terminal. Anything else is kept as it is.
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(bytes: &[u8]) -> (u8, u32, u32, usize) {
        let e = decode(bytes.to_vec()).unwrap_err();
        (e.byte, e.line, e.column, e.offset)
    }

    #[test]
    fn valid_text_decodes_as_it_is() {
        assert_eq!(decode(b"a: 1\n".to_vec()).unwrap(), "a: 1\n");
        assert_eq!(decode(Vec::new()).unwrap(), "");
    }

    #[test]
    fn the_first_invalid_byte_is_located_by_line_and_column() {
        assert_eq!(at(b"a\nb\nabcd\xff\xfe\n"), (0xff, 3, 5, 8));
        assert_eq!(at(b"\xff"), (0xff, 1, 1, 0));
        assert_eq!(at(b"x\n\x80"), (0x80, 2, 1, 2));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // `é` is two bytes, `€` three, a tab one column
        assert_eq!(
            at("é€\t"
                .as_bytes()
                .iter()
                .chain(b"\xff")
                .copied()
                .collect::<Vec<_>>()
                .as_slice()),
            (0xff, 1, 4, 6)
        );
    }

    #[test]
    fn a_truncated_sequence_is_located_at_its_first_byte() {
        // the first two bytes of `€` and then a newline
        assert_eq!(at(b"ab\xe2\x82\n"), (0xe2, 1, 3, 2));
        // and at the very end of the file
        assert_eq!(at(b"ab\xe2\x82"), (0xe2, 1, 3, 2));
    }

    #[test]
    fn the_message_names_the_byte_and_where_it_is() {
        let e = decode(b"a\nb\nabcd\xff\xfe".to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not valid UTF-8: byte 0xff at line 3, column 5"
        );
        assert_eq!(e.lossy, "a\nb\nabcd\u{fffd}\u{fffd}");
    }

    #[test]
    fn quoted_text_stays_on_one_line() {
        assert_eq!(one_line("demo \"é\" `x`"), "demo \"é\" `x`");
        assert_eq!(
            one_line("a\nb\r\tc\u{1b}[31m\0"),
            "a\\nb\\r\\tc\\u{1b}[31m\\u{0}"
        );
    }

    #[test]
    fn reading_a_file_keeps_where_it_was_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"ok\n\xc0").unwrap();
        let e = read_to_string(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let found = not_utf8(&e).unwrap();
        assert_eq!((found.line, found.column), (2, 1));
        std::fs::write(&path, b"ok\n").unwrap();
        assert_eq!(read_to_string(&path).unwrap(), "ok\n");
        let missing = read_to_string(&dir.path().join("none")).unwrap_err();
        assert!(not_utf8(&missing).is_none());
    }
}
