//! The interpolation walk: every string of a file's tree expanded with the
//! project's variables, the path to it built only when something is reported.

use super::Loader;
use crate::compose::decode;
use crate::compose::diagnostic::Diagnostic;
use crate::compose::interpolate::{self, InterpolationError, Vars};
use crate::compose::node::{Entry, Node, Value};

/// One step of the path to a value: the walk keeps these, borrowed from the
/// tree, and writes the path out only when it reports something.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `services.web.ports[0]`: keys joined by dots, indexes in brackets.
fn path_text(steps: &[Step<'_>]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Step::Index(i) => decode::push_index(&mut path, *i),
        }
    }
    path
}

impl Loader<'_> {
    /// Expand every string of a document's tree (`n`, at the top of a file).
    pub(super) fn interpolate(&mut self, n: &mut Node, vars: &Vars) {
        self.interpolate_at(n, vars, &mut Vec::new());
    }

    /// `path` grows and shrinks as the walk goes, so no path is built unless reported.
    fn interpolate_at<'a>(&mut self, n: &'a mut Node, vars: &Vars, path: &mut Vec<Step<'a>>) {
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
                            path_text(path).as_str(),
                            format!("required variable `{name}` is missing a value{detail}"),
                        )
                        .with_hint(format!(
                            "set `{name}` in the environment or in the project's .env file"
                        )),
                    );
                }
                Err(InterpolationError::Invalid { detail }) => {
                    self.sink.push(
                        Diagnostic::at(n.span, path_text(path).as_str(), format!("invalid interpolation format: {detail}"))
                            .with_hint("write `${VAR}`, `${VAR:-default}` or `${VAR:?error}`; use `$$` for a literal `$`"),
                    );
                }
            },
            Value::Seq(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(Step::Index(i));
                    self.interpolate_at(item, vars, path);
                    path.pop();
                }
            }
            Value::Map(entries) => {
                for Entry { key, value } in entries.iter_mut() {
                    path.push(Step::Key(&key.name));
                    self.interpolate_at(value, vars, path);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}
