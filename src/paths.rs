//! Paths and file errors as every layer words them: a path cleaned as Go's
//! `filepath.Clean` does (Compose compares and records paths that way) and
//! an I/O error in the few words a person needs. Separate because the loader,
//! the resolver and saved plans all read files and must say the same thing.

use std::path::Path;

/// Lexically clean a path (`a/./b/../c` → `a/c`), as Go's `filepath.Clean` does.
pub fn clean(p: &Path) -> String {
    use std::path::Component;
    let mut out: Vec<String> = Vec::new();
    let absolute = p.is_absolute();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if out.last().is_some_and(|l| l != "..") {
                    out.pop();
                } else if !absolute {
                    out.push("..".into());
                }
            }
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let joined = out.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// The reason a file could not be read, in a few words.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_is_go_filepath_clean() {
        assert_eq!(clean(Path::new("/a/./b/../c")), "/a/c");
        assert_eq!(clean(Path::new("/a/..")), "/");
        assert_eq!(clean(Path::new("/p/./data")), "/p/data");
        assert_eq!(clean(Path::new("a/../../b")), "../b");
        assert_eq!(clean(Path::new("")), ".");
    }
}
