//! The build context as the tar stream the classic builder reads: the
//! entries `docker build` sends ([`context_files`]: `.dockerignore` applied
//! as Docker applies it; directories too, so an empty one reaches the image)
//! in the order it sends them, with their modes, symlinks as symlinks, owned
//! by root as the docker CLI sends them.
//!
//! The Dockerfile travels as the docker CLI sends it: one inside the context
//! as itself (the builder drops it, and `.dockerignore`, when `.dockerignore`
//! names them); an inline one, or one outside the context, as a generated
//! file that `.dockerignore` names, so no `COPY` sees it (the CLI's
//! `AddDockerfileToBuildContext`).

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header};

use crate::resource::context::{EntryKind, context_files};

/// The Dockerfile of a build, as it travels in the context.
#[derive(Debug, Clone, Copy)]
pub enum Dockerfile<'a> {
    /// a file inside the context, by its slash-separated relative path
    InContext(&'a str),
    /// text sent as the file `name` (inline, or read from outside the context)
    Generated { name: &'a str, text: &'a [u8] },
}

/// The context `dir` as a tar archive carrying `dockerfile`, without what
/// is in `skip` (berth's state directory, which the context hash leaves out
/// too: the state and its key file never reach the engine).
pub fn context_tar(dir: &Path, dockerfile: Dockerfile, skip: &[PathBuf]) -> io::Result<Vec<u8>> {
    let in_context = match dockerfile {
        Dockerfile::InContext(rel) => Some(rel),
        Dockerfile::Generated { .. } => None,
    };
    let mut tar = Builder::new(Vec::new());
    let mut had_dockerignore = false;
    for entry in context_files(dir, in_context, skip)? {
        let meta = fs::symlink_metadata(&entry.path)?;
        let mut header = Header::new_gnu();
        header.set_mode(meta.permissions().mode() & 0o7777);
        header.set_mtime(meta.mtime().max(0) as u64);
        header.set_uid(0);
        header.set_gid(0);
        match entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(EntryType::Directory);
                header.set_size(0);
                tar.append_data(&mut header, format!("{}/", entry.name), io::empty())?;
            }
            EntryKind::Symlink => {
                header.set_entry_type(EntryType::Symlink);
                header.set_size(0);
                let target = fs::read_link(&entry.path)?;
                tar.append_link(&mut header, &entry.name, target)?;
            }
            EntryKind::File => {
                let mut data = fs::read(&entry.path)?;
                if let Dockerfile::Generated { name, .. } = dockerfile
                    && entry.name == ".dockerignore"
                {
                    had_dockerignore = true;
                    data.extend_from_slice(format!("\n{name}\n").as_bytes());
                }
                header.set_entry_type(EntryType::Regular);
                header.set_size(data.len() as u64);
                tar.append_data(&mut header, &entry.name, data.as_slice())?;
            }
        }
    }
    if let Dockerfile::Generated { name, text } = dockerfile {
        generated(&mut tar, name, text)?;
        if !had_dockerignore {
            // `.dockerignore` names itself too: the builder drops both
            generated(
                &mut tar,
                ".dockerignore",
                format!(".dockerignore\n{name}\n").as_bytes(),
            )?;
        }
    }
    tar.into_inner()
}

/// A file berth makes: mode 0600 as the docker CLI gives it.
fn generated(tar: &mut Builder<Vec<u8>>, name: &str, data: &[u8]) -> io::Result<()> {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_mode(0o600);
    header.set_size(data.len() as u64);
    tar.append_data(&mut header, name, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    /// (path, type, mode, content or link target) of every entry.
    fn entries(tar: &[u8]) -> Vec<(String, EntryType, u32, String)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                let kind = e.header().entry_type();
                let mode = e.header().mode().unwrap();
                let mut text = String::new();
                match e.link_name().unwrap() {
                    Some(target) => text = target.to_string_lossy().into_owned(),
                    None => {
                        e.read_to_string(&mut text).unwrap();
                    }
                }
                (path, kind, mode, text)
            })
            .collect()
    }

    fn context() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join(".dockerignore"), "skip*\n").unwrap();
        fs::write(d.join("skipped"), "no").unwrap();
        fs::write(d.join("Dockerfile"), "FROM scratch\n").unwrap();
        fs::create_dir(d.join("bin")).unwrap();
        fs::set_permissions(d.join("bin"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(d.join("bin/run"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(d.join("bin/run"), fs::Permissions::from_mode(0o755)).unwrap();
        let long = format!("bin/{}.txt", "x".repeat(120));
        fs::write(d.join(&long), "long").unwrap();
        symlink("run", d.join("bin/link")).unwrap();
        dir
    }

    #[test]
    fn entries_keep_order_modes_symlinks_and_long_names() {
        let dir = context();
        let tar = context_tar(dir.path(), Dockerfile::InContext("Dockerfile"), &[]).unwrap();
        let long = format!("bin/{}.txt", "x".repeat(120));
        let got = entries(&tar);
        let summary: Vec<(&str, EntryType, u32)> = got
            .iter()
            .map(|(p, k, m, _)| (p.as_str(), *k, *m))
            .collect();
        assert_eq!(
            summary,
            [
                (".dockerignore", EntryType::Regular, 0o644),
                ("Dockerfile", EntryType::Regular, 0o644),
                ("bin/", EntryType::Directory, 0o750),
                ("bin/link", EntryType::Symlink, 0o777),
                ("bin/run", EntryType::Regular, 0o755),
                (long.as_str(), EntryType::Regular, 0o644),
            ]
        );
        assert_eq!(got[3].3, "run");
        assert_eq!(got[4].3, "#!/bin/sh\n");
        assert_eq!(
            got[0].3, "skip*\n",
            "the user's .dockerignore travels as it is"
        );
        // the same context, the same bytes
        let again = context_tar(dir.path(), Dockerfile::InContext("Dockerfile"), &[]).unwrap();
        assert_eq!(tar, again);
    }

    #[test]
    fn a_generated_dockerfile_is_named_in_dockerignore() {
        let dir = context();
        let dockerfile = Dockerfile::Generated {
            name: ".dockerfile.1",
            text: b"FROM scratch\n",
        };
        let got = entries(&context_tar(dir.path(), dockerfile, &[]).unwrap());
        let ignore = got.iter().find(|e| e.0 == ".dockerignore").unwrap();
        assert_eq!(ignore.3, "skip*\n\n.dockerfile.1\n");
        let last = got.last().unwrap();
        assert_eq!(
            (last.0.as_str(), last.2, last.3.as_str()),
            (".dockerfile.1", 0o600, "FROM scratch\n")
        );

        // without a .dockerignore, one that drops itself and the Dockerfile
        fs::remove_file(dir.path().join(".dockerignore")).unwrap();
        let got = entries(&context_tar(dir.path(), dockerfile, &[]).unwrap());
        let ignore = got.iter().find(|e| e.0 == ".dockerignore").unwrap();
        assert_eq!(ignore.3, ".dockerignore\n.dockerfile.1\n");
        assert!(got.iter().any(|e| e.0 == "skipped"));
    }

    /// The state directory beside the compose file is in `build: .`'s
    /// context: its files (the state, the key that seals its secrets) are
    /// never sent, as the context hash leaves them out.
    #[test]
    fn the_state_directory_is_not_sent() {
        let dir = context();
        fs::create_dir(dir.path().join("state")).unwrap();
        fs::write(dir.path().join("state/demo.json"), "{}").unwrap();
        fs::write(dir.path().join("state/demo.key"), "secret").unwrap();
        let skip = [dir.path().join("state")];
        let tar = context_tar(dir.path(), Dockerfile::InContext("Dockerfile"), &skip).unwrap();
        let names: Vec<String> = entries(&tar).into_iter().map(|e| e.0).collect();
        assert!(names.iter().all(|n| !n.starts_with("state")), "{names:?}");
        assert!(names.contains(&"Dockerfile".to_string()), "{names:?}");
    }
}
