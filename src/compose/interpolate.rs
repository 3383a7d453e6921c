//! Variable interpolation as Compose does it: `$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`,
//! nested expressions inside defaults, and `$$` for a literal `$`.
//!
//! A `$` that starts none of these stays a literal `$`, as in Compose.

use std::collections::BTreeMap;

/// Variables visible to interpolation: the shell environment over `.env`/`--env-file`.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    map: BTreeMap<String, String>,
}

impl Vars {
    pub fn new(map: BTreeMap<String, String>) -> Self {
        Vars { map }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    pub fn insert(&mut self, name: String, value: String) {
        self.map.insert(name, value);
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.map
    }

    pub fn into_map(self) -> BTreeMap<String, String> {
        self.map
    }
}

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${VAR:?msg}` or `${VAR?msg}` with the variable missing.
    Required { name: String, message: String },
    /// Syntax the template language does not have (`${}`, `${A:x}`, an unclosed `${`).
    Invalid { detail: String },
}

/// The result of expanding one string: the text, and the variables that were not set.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    pub unset: Vec<String>,
}

/// Expand every variable reference in `input`.
pub fn expand(input: &str, vars: &Vars) -> Result<Expanded, InterpolationError> {
    let mut out = Expanded::default();
    expand_into(input, vars, &mut out, 0)?;
    Ok(out)
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Defaults nest (`${A:-${B:-x}}`); deeper than this is refused, not a stack overflow.
const MAX_NESTING: usize = 32;

fn expand_into(
    input: &str,
    vars: &Vars,
    out: &mut Expanded,
    depth: usize,
) -> Result<(), InterpolationError> {
    if depth > MAX_NESTING {
        return Err(InterpolationError::Invalid {
            detail: format!("expressions are nested more than {MAX_NESTING} deep"),
        });
    }
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let mut chars = after.chars();
        match chars.next() {
            Some('$') => {
                out.text.push('$');
                rest = &after[1..];
            }
            Some('{') => {
                let body_start = &after[1..];
                let end = closing_brace(body_start).ok_or_else(|| InterpolationError::Invalid {
                    detail: format!("`${{{}` is never closed with `}}`", first_part(body_start)),
                })?;
                braced(&body_start[..end], vars, out, depth)?;
                rest = &body_start[end + 1..];
            }
            Some(c) if is_name_start(c) => {
                let len = after
                    .find(|c: char| !is_name_char(c))
                    .unwrap_or(after.len());
                let name = &after[..len];
                lookup(name, vars, out);
                rest = &after[len..];
            }
            _ => {
                out.text.push('$');
                rest = after;
            }
        }
    }
    out.text.push_str(rest);
    Ok(())
}

fn first_part(s: &str) -> &str {
    let end = s.char_indices().nth(20).map(|(i, _)| i).unwrap_or(s.len());
    &s[..end]
}

/// Index of the `}` closing a `${`, counting nested `${ ... }`.
fn closing_brace(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn lookup(name: &str, vars: &Vars, out: &mut Expanded) {
    match vars.get(name) {
        Some(v) => out.text.push_str(v),
        None => out.unset.push(name.to_string()),
    }
}

fn braced(
    body: &str,
    vars: &Vars,
    out: &mut Expanded,
    depth: usize,
) -> Result<(), InterpolationError> {
    let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
    let name = &body[..name_len];
    let op = &body[name_len..];
    let invalid = || InterpolationError::Invalid {
        detail: format!("`${{{body}}}` is not a valid expression"),
    };
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(invalid());
    }
    let value = vars.get(name);
    let (operator, arg) = if op.is_empty() {
        ("", "")
    } else if let Some(arg) = op.strip_prefix(":-") {
        (":-", arg)
    } else if let Some(arg) = op.strip_prefix(":?") {
        (":?", arg)
    } else if let Some(arg) = op.strip_prefix(":+") {
        (":+", arg)
    } else if let Some(arg) = op.strip_prefix('-') {
        ("-", arg)
    } else if let Some(arg) = op.strip_prefix('?') {
        ("?", arg)
    } else if let Some(arg) = op.strip_prefix('+') {
        ("+", arg)
    } else {
        return Err(invalid());
    };
    let nested = |out: &mut Expanded| expand_into(arg, vars, out, depth + 1);
    match operator {
        "" => lookup(name, vars, out),
        ":-" => match value {
            Some(v) if !v.is_empty() => out.text.push_str(v),
            _ => nested(out)?,
        },
        "-" => match value {
            Some(v) => out.text.push_str(v),
            None => nested(out)?,
        },
        ":+" => {
            if value.is_some_and(|v| !v.is_empty()) {
                nested(out)?;
            }
        }
        "+" => {
            if value.is_some() {
                nested(out)?;
            }
        }
        ":?" | "?" => match value {
            Some(v) if operator == "?" || !v.is_empty() => out.text.push_str(v),
            _ => {
                let mut msg = Expanded::default();
                expand_into(arg, vars, &mut msg, depth + 1)?;
                return Err(InterpolationError::Required {
                    name: name.to_string(),
                    message: msg.text,
                });
            }
        },
        _ => unreachable!("operators are matched above"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.insert("SET".into(), "value".into());
        v.insert("EMPTY".into(), String::new());
        v
    }

    fn x(s: &str) -> String {
        expand(s, &vars()).unwrap().text
    }

    #[test]
    fn plain_and_braced_references() {
        assert_eq!(x("$SET/${SET}"), "value/value");
        assert_eq!(x("a${UNSET}b"), "ab");
        assert_eq!(expand("$UNSET", &vars()).unwrap().unset, vec!["UNSET"]);
        assert_eq!(x("$SET.x"), "value.x");
    }

    #[test]
    fn defaults_distinguish_unset_from_empty() {
        assert_eq!(x("${EMPTY:-d}"), "d");
        assert_eq!(x("${EMPTY-d}"), "");
        assert_eq!(x("${UNSET-d}"), "d");
        assert_eq!(x("${SET:-d}"), "value");
    }

    #[test]
    fn alternatives() {
        assert_eq!(x("${SET:+alt}"), "alt");
        assert_eq!(x("${EMPTY:+alt}"), "");
        assert_eq!(x("${EMPTY+alt}"), "alt");
        assert_eq!(x("${UNSET+alt}"), "");
    }

    #[test]
    fn nested_defaults() {
        assert_eq!(x("${UNSET:-${ALSO_UNSET:-deep}}"), "deep");
        assert_eq!(x("${UNSET:-$SET}"), "value");
        assert_eq!(x("${UNSET:-a-${SET}-b}"), "a-value-b");
    }

    #[test]
    fn required_variables() {
        assert_eq!(
            expand("${UNSET:?set it please}", &vars()),
            Err(InterpolationError::Required {
                name: "UNSET".into(),
                message: "set it please".into()
            })
        );
        assert!(expand("${EMPTY:?x}", &vars()).is_err());
        assert_eq!(x("${EMPTY?x}"), "");
    }

    #[test]
    fn dollar_escapes_and_literals() {
        assert_eq!(x("$$SET"), "$SET");
        assert_eq!(x("echo $1 $ x$-"), "echo $1 $ x$-");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}x{}", "${A:-".repeat(30_000), "}".repeat(30_000));
        let e = expand(&deep, &vars()).unwrap_err();
        assert!(
            matches!(e, InterpolationError::Invalid { detail } if detail.contains("nested more than"))
        );
        assert_eq!(x("${A:-${B:-${C:-deep}}}"), "deep");
    }

    #[test]
    fn invalid_syntax() {
        assert!(matches!(
            expand("${}", &vars()),
            Err(InterpolationError::Invalid { .. })
        ));
        assert!(matches!(
            expand("${A:x}", &vars()),
            Err(InterpolationError::Invalid { .. })
        ));
        assert!(matches!(
            expand("${A", &vars()),
            Err(InterpolationError::Invalid { .. })
        ));
        assert!(matches!(
            expand("${A/b}", &vars()),
            Err(InterpolationError::Invalid { .. })
        ));
    }
}
