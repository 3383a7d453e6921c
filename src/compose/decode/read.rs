//! Reading one scalar node as a typed value: the one [`Decode`] trait that
//! every attribute goes through (`ctx.read::<u64>(node, path)`). Each type says
//! what it accepts; a null node is unset, and a node of a kind the type is never
//! written as is reported once, here, as "expected <what>, found <kind>".

use super::ctx::Ctx;
use crate::compose::node::{Node, Value};
use crate::compose::units::{Bytes, Duration};

/// A node of a kind a type is never written as (a list where a number goes).
pub(super) struct WrongKind;

/// A value read from one node, with a located diagnostic when it is wrong.
pub(super) trait Decode: Sized {
    /// What the node should hold, as messages say it: `a whole number`.
    const EXPECTED: &'static str;

    /// The value of a node that is not null; `None` when reported.
    fn from_node(ctx: &mut Ctx, n: &Node, path: &str) -> Result<Option<Self>, WrongKind>;

    /// Null is unset; a node of the wrong kind is reported as such.
    fn decode(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Self> {
        if let Value::Null = n.value {
            return None;
        }
        Self::from_node(ctx, n, path).unwrap_or_else(|WrongKind| {
            ctx.expected(n, path, Self::EXPECTED);
            None
        })
    }
}

impl Ctx<'_> {
    /// Read `n` as a `T`: `ctx.read::<bool>(n, path)`.
    pub(super) fn read<T: Decode>(&mut self, n: &Node, path: &str) -> Option<T> {
        T::decode(self, n, path)
    }
}

impl Decode for String {
    const EXPECTED: &'static str = "a string";

    fn from_node(_: &mut Ctx, n: &Node, _: &str) -> Result<Option<Self>, WrongKind> {
        match &n.value {
            Value::Seq(_) | Value::Map(_) => Err(WrongKind),
            _ => Ok(n.scalar_text()),
        }
    }
}

impl Decode for i64 {
    const EXPECTED: &'static str = "a whole number";

    fn from_node(ctx: &mut Ctx, n: &Node, path: &str) -> Result<Option<Self>, WrongKind> {
        match &n.value {
            Value::Int(i) => Ok(Some(*i)),
            Value::Float(f) if f.fract() == 0.0 => Ok(Some(*f as i64)),
            Value::Str(s) => Ok(parsed(ctx, n, path, s.trim().parse().ok(), |s| {
                (
                    format!("expected a whole number, found `{s}`"),
                    "write a whole number",
                )
            })),
            _ => Err(WrongKind),
        }
    }
}

impl Decode for u64 {
    const EXPECTED: &'static str = "a whole number";

    fn from_node(ctx: &mut Ctx, n: &Node, path: &str) -> Result<Option<Self>, WrongKind> {
        let Some(i) = i64::from_node(ctx, n, path)? else {
            return Ok(None);
        };
        if i < 0 {
            ctx.err_hint(
                n,
                path,
                format!("expected a number of 0 or more, found {i}"),
                "write a whole number of 0 or more",
            );
            return Ok(None);
        }
        Ok(Some(i as u64))
    }
}

impl Decode for f64 {
    const EXPECTED: &'static str = "a number";

    fn from_node(ctx: &mut Ctx, n: &Node, path: &str) -> Result<Option<Self>, WrongKind> {
        match &n.value {
            Value::Int(i) => Ok(Some(*i as f64)),
            Value::Float(f) => Ok(Some(*f)),
            Value::Str(s) => Ok(parsed(ctx, n, path, s.trim().parse().ok(), |s| {
                (
                    format!("expected a number, found `{s}`"),
                    "write a number, such as `1.5`",
                )
            })),
            _ => Err(WrongKind),
        }
    }
}

impl Decode for bool {
    const EXPECTED: &'static str = "true or false";

    fn from_node(ctx: &mut Ctx, n: &Node, path: &str) -> Result<Option<Self>, WrongKind> {
        match &n.value {
            Value::Bool(b) => Ok(Some(*b)),
            Value::Str(s) => {
                let b = match s.as_str() {
                    "1" | "t" | "T" | "true" | "TRUE" | "True" | "y" | "Y" | "yes" | "YES"
                    | "Yes" | "on" | "ON" | "On" => Some(true),
                    "0" | "f" | "F" | "false" | "FALSE" | "False" | "n" | "N" | "no" | "NO"
                    | "No" | "off" | "OFF" | "Off" => Some(false),
                    _ => None,
                };
                Ok(parsed(ctx, n, path, b, |s| {
                    (
                        format!("expected true or false, found `{s}`"),
                        "write `true` or `false`",
                    )
                }))
            }
            _ => Err(WrongKind),
        }
    }
}

impl Decode for Duration {
    const EXPECTED: &'static str = "a duration";

    fn from_node(ctx: &mut Ctx, n: &Node, path: &str) -> Result<Option<Self>, WrongKind> {
        let s = match &n.value {
            Value::Int(0) => return Ok(Some(Duration(0))),
            Value::Int(_) | Value::Float(_) => {
                if let Some(text) = n.scalar_text() {
                    ctx.err_hint(
                        n,
                        path,
                        format!("`{text}` is not a duration: it has no unit"),
                        "write a duration with a unit, such as `30s`, `1m30s` or `500ms`",
                    );
                }
                return Ok(None);
            }
            _ => ctx.read::<String>(n, path),
        };
        let Some(s) = s else { return Ok(None) };
        Ok(match Duration::parse(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                ctx.err_hint(
                    n,
                    path,
                    format!("invalid duration: {e}"),
                    "write a duration such as `30s`, `1m30s` or `500ms` (units: ns, us, ms, s, m, h)",
                );
                None
            }
        })
    }
}

impl Decode for Bytes {
    const EXPECTED: &'static str = "a size";

    fn from_node(ctx: &mut Ctx, n: &Node, path: &str) -> Result<Option<Self>, WrongKind> {
        if let Value::Int(i) = n.value {
            return Ok(Some(Bytes(i)));
        }
        let Some(s) = ctx.read::<String>(n, path) else {
            return Ok(None);
        };
        Ok(match Bytes::parse(&s) {
            Ok(b) => Some(b),
            Err(e) => {
                ctx.err_hint(
                    n,
                    path,
                    format!("invalid size: {e}"),
                    "write a size such as `512m`, `1g` or a number of bytes",
                );
                None
            }
        })
    }
}

/// A value parsed from a string node's text, or the error `wrong` words for that text.
fn parsed<T>(
    ctx: &mut Ctx,
    n: &Node,
    path: &str,
    value: Option<T>,
    wrong: impl FnOnce(&str) -> (String, &'static str),
) -> Option<T> {
    if value.is_none() {
        let (msg, hint) = wrong(n.as_str().unwrap_or_default());
        ctx.err_hint(n, path, msg, hint);
    }
    value
}
