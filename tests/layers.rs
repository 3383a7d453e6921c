//! The layers of `src/` import one way, top to bottom. Every `crate::<module>`
//! path in a module's code must name a module its layer may use; a lower
//! layer reaching up fails here, with the file, the line and the rule.
//!
//! The table below is the one place the layers are written down (the
//! README's layout section describes the same order).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Small helpers every layer may use; they import nothing of the crate.
const UTILITIES: &[&str] = &["paths", "par", "timing", "memory", "utf8"];

/// Each top-level module of `src/`, top to bottom, with what it may import
/// (besides itself and [`UTILITIES`]).
const LAYERS: &[(&str, &[&str])] = &[
    ("main", &["*"]),
    ("lib", &["*"]),
    (
        "cli",
        // flag values parse with the loader's units (`--lock-timeout 5s`)
        &["compose"],
    ),
    (
        "command",
        &[
            "cli", "pipeline", "backend", "output", "error", "apply", "render", "plan", "state",
            "engine", "observed", "resource", "compose",
        ],
    ),
    (
        "pipeline",
        &[
            "backend", "error", "plan", "state", "observed", "resource", "compose",
        ],
    ),
    ("output", &["error", "apply", "state"]),
    (
        "backend",
        &[
            "apply", "plan", "state", "engine", "observed", "resource", "compose",
        ],
    ),
    ("error", &["plan", "state", "engine", "resource", "compose"]),
    ("apply", &["plan", "state", "resource", "compose"]),
    ("render", &["plan", "resource"]),
    ("plan", &["state", "observed", "resource", "compose"]),
    ("engine", &["observed", "resource", "compose"]),
    ("state", &["observed", "resource", "compose"]),
    ("observed", &["resource"]),
    ("resource", &["compose"]),
    ("compose", &[]),
    ("paths", &[]),
    ("par", &[]),
    ("timing", &[]),
    ("memory", &[]),
    ("utf8", &[]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/plan/diff.rs` → `plan`; `src/error.rs` → `error`.
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

/// Every `crate::<name>` in the code of `text` (comments skipped), with its line.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().last();
            rest = &rest[at + "crate::".len()..];
            // `berth_crate::`, `some_crate::` are other names
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((n + 1, name));
            }
        }
        // `use crate::{a, b}` names several
        if let Some(group) = code.split("crate::{").nth(1) {
            let group = group.split('}').next().unwrap_or("");
            for name in group.split(',') {
                let name = name.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    out.push((n + 1, name.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let table: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let module = top_module(&src, file);
        let Some(allowed) = table.get(module.as_str()) else {
            problems.push(format!(
                "{}: module `{module}` is not in the layer table of tests/layers.rs: add it where it belongs",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, used) in crate_paths(&text) {
            let ok = used == module
                || allowed.contains(&"*")
                || allowed.contains(&used.as_str())
                || UTILITIES.contains(&used.as_str());
            if !ok {
                problems.push(format!(
                    "{}:{line}: `{module}` uses `crate::{used}`, which it may not (it may use: {}; and {})",
                    file.strip_prefix(src.parent().unwrap()).unwrap().display(),
                    if allowed.is_empty() {
                        "nothing of the crate".to_string()
                    } else {
                        allowed.join(", ")
                    },
                    UTILITIES.join(", ")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layers import upward:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    let found = crate_paths(
        "use crate::engine::{Engine, EngineError};\nuse crate::{plan, state::State};\n// crate::command in a comment\nlet x = crate::resource::labels::PROJECT;",
    );
    let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["engine", "plan", "state", "resource"]);
}
