//! `.env` and `env_file` files in the format Compose reads: `KEY=VALUE`,
//! `export KEY=VALUE`, comments, single quotes (literal), double quotes
//! (escapes and interpolation), unquoted values (interpolated, inline `#` comments);
//! and `env_file`'s `format: raw`, read as `docker run --env-file` reads it.

use super::interpolate::{self, Vars};

/// One parsed line: `None` value for a bare `KEY` (take it from the environment).
pub type EnvPair = (String, Option<String>);

/// A problem in an env file, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFileError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// Parse an env file. Values may refer to variables defined above them or in `vars`.
pub fn parse(text: &str, vars: &Vars) -> Result<Vec<EnvPair>, EnvFileError> {
    let mut out: Vec<EnvPair> = Vec::new();
    let mut scope = vars.clone();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i as u32 + 1;
        let raw = lines[i];
        i += 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let key_end = line.find(['=', ':']).unwrap_or(line.len());
        let key = line[..key_end].trim_end();
        let err = |message: String| EnvFileError {
            line: line_no,
            col: indent_columns(raw),
            message,
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(err(format!("`{}` is not a `KEY=VALUE` line", raw.trim())));
        }
        if let Some(message) = control_character(key) {
            return Err(err(message));
        }
        if key_end == line.len() {
            out.push((key.to_string(), None));
            continue;
        }
        let mut value = line[key_end + 1..].trim_start().to_string();
        let parsed = match value.chars().next() {
            Some(q @ ('"' | '\'')) => {
                // quoted values may span lines
                let mut body = value[1..].to_string();
                // each line is scanned once (a quote left open over many
                // lines used to rescan the whole value for every line)
                let (mut scanned, mut escaped) = (0, false);
                loop {
                    if let Some(end) = closing_quote(&body[scanned..], q, &mut escaped) {
                        body.truncate(scanned + end);
                        break;
                    }
                    scanned = body.len();
                    if i >= lines.len() {
                        return Err(err(format!("unterminated {q} quote in value of `{key}`")));
                    }
                    body.push('\n');
                    body.push_str(lines[i]);
                    i += 1;
                }
                if q == '\'' {
                    body
                } else {
                    let unescaped = unescape(&body);
                    interpolate::expand(&unescaped, &scope)
                        .map(|e| e.text)
                        .map_err(|_| err(format!("invalid interpolation in value of `{key}`")))?
                }
            }
            _ => {
                if let Some(pos) = value.find(" #") {
                    value.truncate(pos);
                }
                let value = value.trim_end();
                interpolate::expand(value, &scope)
                    .map(|e| e.text)
                    .map_err(|_| err(format!("invalid interpolation in value of `{key}`")))?
            }
        };
        if !vars.contains(key) {
            scope.insert(key.to_string(), parsed.clone());
        }
        out.push((key.to_string(), Some(parsed)));
    }
    Ok(out)
}

/// Parse an env file in `format: raw`, as `docker run --env-file` does: each
/// line is `KEY=VALUE` with the value exactly as written (no quotes, escapes,
/// comments after it or interpolation; trailing spaces kept). Lines starting
/// with `#` are comments; a bare `KEY` is `None` (taken from the environment).
pub fn parse_raw(text: &str) -> Result<Vec<EnvPair>, EnvFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| EnvFileError {
            line: i as u32 + 1,
            col: indent_columns(raw),
            message,
        };
        let (key, value) = match line.split_once('=') {
            Some((key, value)) => (key, Some(value.to_string())),
            None => (line, None),
        };
        if key.is_empty() {
            return Err(err(format!("no variable name on line `{line}`")));
        }
        if key.contains([' ', '\t']) {
            return Err(err(format!("variable `{key}` contains whitespace")));
        }
        if let Some(message) = control_character(key) {
            return Err(err(message));
        }
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// The column where `raw`'s text starts: 1-based, in characters (as the
/// diagnostic renderer places its caret), after any leading whitespace.
fn indent_columns(raw: &str) -> u32 {
    let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
    u32::try_from(indent).unwrap_or(u32::MAX).saturating_add(1)
}

/// A variable name holding a control character (NUL, ESC, ...: no process
/// environment can carry NUL, and a file of them is binary or UTF-16, not an
/// env file), said with the name escaped so the message stays one line.
fn control_character(key: &str) -> Option<String> {
    let c = key.chars().find(|c| c.is_control())?;
    Some(format!(
        "variable name `{}` holds the control character U+{:04X}; save the file as UTF-8 text",
        key.escape_debug(),
        u32::from(c)
    ))
}

/// Where quote `q` closes in `s`, `escaped` saying whether the text before
/// `s` ended in an escaping backslash (and, when not found, whether `s` does).
fn closing_quote(s: &str, q: char, escaped: &mut bool) -> Option<usize> {
    for (i, c) in s.char_indices() {
        if q == '"' && c == '\\' && !*escaped {
            *escaped = true;
            continue;
        }
        if c == q && !*escaped {
            return Some(i);
        }
        *escaped = false;
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('$') => out.push_str("$$"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Vec<EnvPair> {
        parse(text, &Vars::default()).unwrap()
    }

    fn kv(k: &str, v: &str) -> EnvPair {
        (k.to_string(), Some(v.to_string()))
    }

    #[test]
    fn the_forms_compose_reads() {
        let got = p(
            "# comment\nA=1\nexport B=two words\nC='lit $A'\nD=\"x\\ny $A\"\nE=\nF\nG=v # inline\nH: colon\n",
        );
        assert_eq!(
            got,
            vec![
                kv("A", "1"),
                kv("B", "two words"),
                kv("C", "lit $A"),
                kv("D", "x\ny 1"),
                kv("E", ""),
                ("F".to_string(), None),
                kv("G", "v"),
                kv("H", "colon"),
            ]
        );
    }

    #[test]
    fn raw_values_are_taken_exactly_as_written() {
        let got =
            parse_raw("# comment\n  A=\"quoted\" \nB='x' # not a comment\nC=$HOME\\n\nD=\nE\n")
                .unwrap();
        assert_eq!(
            got,
            vec![
                kv("A", "\"quoted\" "),
                kv("B", "'x' # not a comment"),
                kv("C", "$HOME\\n"),
                kv("D", ""),
                ("E".to_string(), None),
            ]
        );
    }

    #[test]
    fn raw_keys_cannot_hold_spaces_or_be_empty() {
        let e = parse_raw("A=1\nexport B=2\n").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "variable `export B` contains whitespace")
        );
        assert_eq!(parse_raw("=1\n").unwrap_err().line, 1);
    }

    #[test]
    fn multiline_double_quotes() {
        assert_eq!(
            p("A=\"one\ntwo\"\nB=3\n"),
            vec![kv("A", "one\ntwo"), kv("B", "3")]
        );
    }

    #[test]
    fn an_escaped_quote_at_the_end_of_a_line_does_not_close_the_value() {
        assert_eq!(
            p("A=\"one \\\"\ntwo\"\nB=3\n"),
            vec![kv("A", "one \"\ntwo"), kv("B", "3")]
        );
    }

    #[test]
    fn a_quote_left_open_over_many_lines_is_read_in_linear_time() {
        // every line used to rescan the value so far: quadratic in the lines
        let text = format!("A=\"{}", "x\n".repeat(200_000));
        let started = std::time::Instant::now();
        let e = parse(&text, &Vars::default()).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn unterminated_quote_is_an_error_with_a_line() {
        let e = parse("A=1\nB=\"open\n", &Vars::default()).unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn a_variable_name_cannot_hold_a_control_character() {
        // what UTF-16 text read as UTF-8 looks like: a NUL after every ASCII byte
        let e = parse("A=1\nB\0=2\n", &Vars::default()).unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                2,
                "variable name `B\\0` holds the control character U+0000; save the file as UTF-8 text"
            )
        );
        let e = parse_raw("\u{1b}[31mA=1\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("U+001B"), "{}", e.message);
    }

    #[test]
    fn columns_count_characters_of_the_indentation() {
        // U+3000 (ideographic space) is three bytes and one column
        let e = parse("\u{3000}\tA B=1\n", &Vars::default()).unwrap_err();
        assert_eq!((e.line, e.col), (1, 3));
        let e = parse_raw("\u{3000}=1\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 2));
    }

    #[test]
    fn a_line_without_a_key_is_an_error() {
        let e = parse("=1\n", &Vars::default()).unwrap_err();
        assert_eq!(e.line, 1);
    }
}
