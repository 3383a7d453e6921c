//! One cleaned pattern to what matches it: patternmatcher's shortcuts (exact,
//! prefix, suffix) or its regular expression, after the syntax checks of Go's
//! `filepath.Match`, written in the `regex` crate's syntax. Apart from
//! [`super::matcher`] because translating Go's pattern and expression
//! syntax is its own, fiddly, concern.

use regex::Regex;

/// How a pattern is matched: patternmatcher's shortcuts, or its expression.
#[derive(Debug)]
pub(super) enum Kind {
    /// no wildcard: the path must equal the pattern
    Exact,
    /// `literal**`: the path starts with the literal
    Prefix(String),
    /// `**literal`: the path ends with the literal (or is it, less its `/`)
    Suffix(String),
    Regex(Regex),
}

/// The checks of Go's `filepath.Match`, which patternmatcher runs on every
/// pattern: character classes must be closed and not empty, ranges need both
/// ends, `\` must escape something.
pub(super) fn check_syntax(pattern: &str) -> Result<(), &'static str> {
    const BAD: &str = "syntax error in pattern";
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    // one character of a class, possibly escaped
    let esc = |i: &mut usize| -> Result<(), &'static str> {
        match chars.get(*i) {
            None | Some('-') | Some(']') => return Err(BAD),
            Some('\\') => {
                *i += 1;
                if *i >= chars.len() {
                    return Err(BAD);
                }
            }
            _ => {}
        }
        *i += 1;
        if *i >= chars.len() {
            return Err(BAD);
        }
        Ok(())
    };
    while i < chars.len() {
        match chars[i] {
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut ranges = 0;
                loop {
                    if chars.get(i) == Some(&']') && ranges > 0 {
                        i += 1;
                        break;
                    }
                    esc(&mut i)?;
                    if chars[i] == '-' {
                        i += 1;
                        esc(&mut i)?;
                    }
                    ranges += 1;
                }
            }
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err(BAD);
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// patternmatcher's `compile`: the expression, or one of its shortcuts.
pub(super) fn compile(pattern: &str) -> Result<Kind, &'static str> {
    #[derive(PartialEq)]
    enum Detected {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut re = String::from("^");
    let mut detected = Detected::Exact;
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut step = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        if ch == '*' {
            if chars.get(i) == Some(&'*') {
                i += 1;
                // `**/` is `**`
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    // a trailing `**` takes everything
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        re.push_str(".*");
                        detected = Detected::Regex;
                    }
                } else {
                    // any number of segments, even none
                    re.push_str("(.*/)?");
                    detected = Detected::Regex;
                }
                if step == 0 {
                    detected = Detected::Suffix;
                }
            } else {
                re.push_str("[^/]*");
                detected = Detected::Regex;
            }
        } else if ch == '?' {
            re.push_str("[^/]");
            detected = Detected::Regex;
        } else if ".+()|{}$".contains(ch) {
            re.push('\\');
            re.push(ch);
        } else if ch == '\\' {
            re.push('\\');
            if let Some(&next) = chars.get(i) {
                re.push(next);
                i += 1;
                detected = Detected::Regex;
            }
        } else if ch == '[' || ch == ']' {
            re.push(ch);
            detected = Detected::Regex;
        } else {
            re.push(ch);
        }
        step += 1;
    }
    Ok(match detected {
        Detected::Exact => Kind::Exact,
        Detected::Prefix => Kind::Prefix(pattern[..pattern.len() - 2].to_string()),
        Detected::Suffix => Kind::Suffix(pattern[2..].to_string()),
        Detected::Regex => {
            re.push('$');
            Kind::Regex(Regex::new(&rust_syntax(&re)).map_err(|_| "syntax error in pattern")?)
        }
    })
}

/// Go's expression syntax (RE2) in the `regex` crate's: the two read classes
/// differently. Inside `[...]` Go takes `[` (other than `[:name:]`), `&`, `~`
/// and a second `-` literally; the `regex` crate nests classes and has the
/// operators `&&`, `~~` and `--`. Everything else is written alike.
fn rust_syntax(go: &str) -> String {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len());
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '\\' => {
                out.push(ch);
                if let Some(&next) = chars.get(i) {
                    out.push(next);
                    i += 1;
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(ch);
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // a `]` first in a class is a member
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '[' if chars.get(i) == Some(&':') => {
                // `[:alpha:]`, copied whole
                let rest: String = chars[i - 1..].iter().collect();
                match rest.find(":]") {
                    Some(end) if end > 1 => {
                        out.push_str(&rest[..end + 2]);
                        i += rest[..end + 2].chars().count() - 1;
                    }
                    _ => out.push_str("\\["),
                }
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(ch);
            }
            '-' if in_class && out.ends_with('-') => out.push_str("\\-"),
            ']' if in_class => {
                in_class = false;
                out.push(ch);
            }
            ']' => out.push_str("\\]"),
            _ => out.push(ch),
        }
    }
    out
}
