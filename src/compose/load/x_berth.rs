//! `x-berth`: berth's own settings in the compose file. Today one key,
//! `backend`, the backend a project is planned for when neither `--backend`
//! nor `BERTH_BACKEND` names one. Being a top-level extension, it merges
//! across `-f` files like any other (the last file's value wins) and is
//! interpolated like the rest of the file.

use super::Loader;
use crate::compose::BackendKind;
use crate::compose::diagnostic::Diagnostic;
use crate::compose::node::Node;

/// The keys `x-berth` takes.
const KEYS: &[&str] = &["backend"];

fn backends() -> String {
    BackendKind::ALL
        .iter()
        .map(|b| format!("`{b}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Loader<'_> {
    /// The backend `x-berth.backend` names, if the merged file names one.
    /// What is wrong under `x-berth` is reported (located) even when the
    /// command line chooses the backend: the file is wrong either way.
    pub(super) fn file_backend(&mut self, root: &Node) -> Option<BackendKind> {
        let node = root.get("x-berth")?;
        if node.is_null() {
            return None;
        }
        let Some(entries) = node.as_map() else {
            self.sink.push(
                Diagnostic::at(
                    node.span,
                    "x-berth",
                    format!("expected a mapping, found {}", node.kind()),
                )
                .with_hint("write `x-berth: {backend: swarm}`"),
            );
            return None;
        };
        let mut chosen = None;
        for e in entries {
            let path = format!("x-berth.{}", e.key.name);
            if !KEYS.contains(&e.key.name.as_str()) {
                self.sink.push(
                    Diagnostic::at(
                        e.key.span,
                        path,
                        format!("unknown key `{}` under `x-berth`", e.key.name),
                    )
                    .with_hint(format!(
                        "`x-berth` takes only `backend`; remove `{}`",
                        e.key.name
                    )),
                );
                continue;
            }
            match e.value.as_str() {
                Some(text) => match text.parse::<BackendKind>() {
                    Ok(b) => chosen = Some(b),
                    Err(_) => self.sink.push(
                        Diagnostic::at(e.value.span, path, format!("unknown backend `{text}`"))
                            .with_hint(format!("valid backends: {}", backends())),
                    ),
                },
                None => self.sink.push(
                    Diagnostic::at(
                        e.value.span,
                        path,
                        format!("expected a string, found {}", e.value.kind()),
                    )
                    .with_hint(format!("valid backends: {}", backends())),
                ),
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use crate::compose::BackendKind;
    use crate::compose::host::MemoryHost;
    use crate::compose::load::{LoadOptions, load_from};

    /// The project in `/p`, with `files` as its `-f` files (none: `compose.yaml`).
    fn load(
        host: &MemoryHost,
        files: &[&str],
        flag: Option<BackendKind>,
    ) -> Result<super::super::Loaded, crate::compose::diagnostic::Diagnostics> {
        load_from(
            host,
            LoadOptions {
                working_dir: "/p".into(),
                files: files.iter().map(Into::into).collect(),
                backend: flag,
                ..Default::default()
            },
        )
    }

    fn one(text: &str) -> MemoryHost {
        MemoryHost::default().file("/p/compose.yaml", text)
    }

    /// The single error of a failed load: `file:line:col path: message (hint)`.
    fn error_of(host: &MemoryHost) -> String {
        let d = load(host, &[], None).unwrap_err();
        assert_eq!(d.items.len(), 1, "{:?}", d.items);
        let e = &d.items[0];
        format!(
            "{} {}: {} ({})",
            e.location(&d.sources).unwrap(),
            e.path,
            e.message,
            e.hint.as_deref().unwrap_or("")
        )
    }

    #[test]
    fn without_x_berth_or_a_flag_the_backend_is_the_plain_engine() {
        let host = one("services: {web: {image: a}}\n");
        assert_eq!(load(&host, &[], None).unwrap().backend, BackendKind::Docker);
    }

    #[test]
    fn x_berth_backend_chooses_swarm() {
        let host = one("x-berth: {backend: swarm}\nservices: {web: {image: a}}\n");
        assert_eq!(load(&host, &[], None).unwrap().backend, BackendKind::Swarm);
    }

    #[test]
    fn the_flag_or_environment_wins_over_the_file() {
        // `LoadOptions.backend` carries both `--backend` and `BERTH_BACKEND`
        let host = one("x-berth: {backend: swarm}\nservices: {web: {image: a}}\n");
        let loaded = load(&host, &[], Some(BackendKind::Docker)).unwrap();
        assert_eq!(loaded.backend, BackendKind::Docker);
        let host = one("x-berth: {backend: docker}\nservices: {web: {image: a}}\n");
        let loaded = load(&host, &[], Some(BackendKind::Swarm)).unwrap();
        assert_eq!(loaded.backend, BackendKind::Swarm);
    }

    #[test]
    fn a_later_file_overrides_an_earlier_files_choice() {
        let host = MemoryHost::default()
            .file(
                "/p/base.yaml",
                "x-berth: {backend: swarm}\nservices: {web: {image: a}}\n",
            )
            .file("/p/local.yaml", "x-berth: {backend: docker}\n")
            .file("/p/other.yaml", "services: {web: {image: b}}\n");
        let backend = |files: &[&str]| load(&host, files, None).unwrap().backend;
        assert_eq!(backend(&["base.yaml", "local.yaml"]), BackendKind::Docker);
        // a file that does not mention x-berth leaves the earlier choice alone
        assert_eq!(backend(&["base.yaml", "other.yaml"]), BackendKind::Swarm);
    }

    #[test]
    fn the_choice_can_come_from_a_variable() {
        let host = one("x-berth: {backend: \"${BACKEND:-docker}\"}\nservices: {web: {image: a}}\n");
        assert_eq!(load(&host, &[], None).unwrap().backend, BackendKind::Docker);
        let mut o = LoadOptions {
            working_dir: "/p".into(),
            ..Default::default()
        };
        o.environ.insert("BACKEND".into(), "swarm".into());
        assert_eq!(load_from(&host, o).unwrap().backend, BackendKind::Swarm);
    }

    #[test]
    fn an_unknown_backend_is_reported_at_its_value_with_the_valid_ones() {
        let host = one("services: {web: {image: a}}\nx-berth:\n  backend: kubernetes\n");
        assert_eq!(
            error_of(&host),
            "compose.yaml:3:12 x-berth.backend: unknown backend `kubernetes` (valid backends: `docker`, `swarm`)"
        );
    }

    #[test]
    fn a_backend_that_is_not_a_string_is_reported() {
        let host = one("services: {web: {image: a}}\nx-berth:\n  backend: [swarm]\n");
        assert_eq!(
            error_of(&host),
            "compose.yaml:3:12 x-berth.backend: expected a string, found a list (valid backends: `docker`, `swarm`)"
        );
    }

    #[test]
    fn an_unknown_key_under_x_berth_is_reported_at_the_key() {
        let host = one("services: {web: {image: a}}\nx-berth:\n  backend: swarm\n  mode: fast\n");
        assert_eq!(
            error_of(&host),
            "compose.yaml:4:3 x-berth.mode: unknown key `mode` under `x-berth` (`x-berth` takes only `backend`; remove `mode`)"
        );
    }

    #[test]
    fn x_berth_that_is_not_a_mapping_is_reported() {
        let host = one("services: {web: {image: a}}\nx-berth: swarm\n");
        assert_eq!(
            error_of(&host),
            "compose.yaml:2:10 x-berth: expected a mapping, found a string (write `x-berth: {backend: swarm}`)"
        );
    }

    #[test]
    fn a_bad_x_berth_is_an_error_even_when_the_flag_chooses() {
        let host = one("services: {web: {image: a}}\nx-berth: {backend: k8s}\n");
        assert!(load(&host, &[], Some(BackendKind::Docker)).is_err());
    }
}
