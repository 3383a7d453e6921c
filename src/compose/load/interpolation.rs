//! The interpolation walk: every string of a file's tree expanded with the
//! project's variables, the path to it built only when something is reported.

use super::Loader;
use crate::compose::decode;
use crate::compose::diagnostic::Diagnostic;
use crate::compose::interpolate::{self, InterpolationError, Vars};
use crate::compose::node::{Node, Value};

impl Loader<'_> {
    pub(super) fn interpolate(&mut self, n: &mut Node, vars: &Vars, path: &str) {
        let mut path = path.to_string();
        self.interpolate_at(n, vars, &mut path);
    }

    /// `path` grows and shrinks as the walk goes, so no path is built unless reported.
    pub(super) fn interpolate_at(&mut self, n: &mut Node, vars: &Vars, path: &mut String) {
        match &mut n.value {
            Value::Str(s) if !s.contains('$') => {}
            Value::Str(s) => match interpolate::expand(s, vars) {
                Ok(e) => {
                    self.unset.extend(e.unset);
                    *s = e.text;
                }
                Err(InterpolationError::Required { name, message }) => {
                    let detail = if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    };
                    self.sink.push(
                        Diagnostic::at(
                            n.span,
                            path.as_str(),
                            format!("required variable `{name}` is missing a value{detail}"),
                        )
                        .with_hint(format!(
                            "set `{name}` in the environment or in the project's .env file"
                        )),
                    );
                }
                Err(InterpolationError::Invalid { detail }) => {
                    self.sink.push(
                        Diagnostic::at(n.span, path.as_str(), format!("invalid interpolation format: {detail}"))
                            .with_hint("write `${VAR}`, `${VAR:-default}` or `${VAR:?error}`; use `$$` for a literal `$`"),
                    );
                }
            },
            Value::Seq(items) => {
                let len = path.len();
                for (i, item) in items.iter_mut().enumerate() {
                    decode::push_index(path, i);
                    self.interpolate_at(item, vars, path);
                    path.truncate(len);
                }
            }
            Value::Map(entries) => {
                let len = path.len();
                for e in entries.iter_mut() {
                    if len > 0 {
                        path.push('.');
                    }
                    path.push_str(&e.key.name);
                    self.interpolate_at(&mut e.value, vars, path);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
}
