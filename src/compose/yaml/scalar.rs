//! Plain scalars as YAML 1.2's core schema resolves them (what go-yaml v3,
//! and so Docker Compose, does): `yes` stays a string, `true` is a boolean,
//! `0x1F` is a number.

use crate::compose::node::Value;

/// A plain scalar's value; a string keeps the parser's allocation.
pub(super) fn resolve_plain(text: String) -> Value {
    match resolve_plain_scalar(&text) {
        Some(v) => v,
        None => Value::Str(text),
    }
}

/// A plain scalar that is not a string (null, boolean, number), else `None`.
fn resolve_plain_scalar(s: &str) -> Option<Value> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Value::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    let bytes = s.as_bytes();
    let digits = |t: &str, radix: u32| !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
    let (sign, body) = match bytes[0] {
        b'-' => (-1i64, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    if body.len() > 1
        && body.starts_with('0')
        && digits(body, 8)
        && let Ok(i) = i64::from_str_radix(body, 8)
    {
        return Some(Value::Int(sign * i));
    }
    if digits(body, 10) {
        if let Ok(i) = s.parse::<i64>() {
            return Some(Value::Int(i));
        }
        if let Ok(f) = s.parse::<f64>() {
            return Some(Value::Float(f));
        }
    }
    if let Some(hex) = s.strip_prefix("0x")
        && digits(hex, 16)
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Some(Value::Int(i));
    }
    if let Some(oct) = s.strip_prefix("0o")
        && digits(oct, 8)
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Some(Value::Int(i));
    }
    if is_float(s)
        && let Ok(f) = s.parse::<f64>()
    {
        return Some(Value::Float(f));
    }
    None
}

/// YAML 1.2 core schema float: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
                && !(a.is_empty() && b.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        }
    };
    mantissa_ok && exp_ok
}
