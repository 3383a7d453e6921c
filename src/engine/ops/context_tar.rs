//! The build context as the tar stream the classic builder reads: the files
//! `docker build` would send (honouring `.dockerignore`, see
//! [`context_files`]) plus files berth generates (an inline Dockerfile).
//!
//! Written by hand in ustar format with GNU long names: the workspace has no
//! `tar` crate and bollard does not re-export one. Directories are implied by
//! the paths of their files, so an empty directory is not sent.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::resource::context::context_files;

const BLOCK: usize = 512;

/// The context `dir` as a tar archive, with `extra` (path, bytes) appended.
pub fn context_tar(dir: &Path, extra: &[(String, Vec<u8>)]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for (rel, path) in context_files(dir, &[])? {
        let meta = fs::symlink_metadata(&path)?;
        let mode = meta.permissions().mode() & 0o7777;
        let mtime = meta.mtime().max(0) as u64;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path)?.to_string_lossy().into_owned();
            entry(&mut out, &rel, mode, mtime, Kind::Symlink(&target), &[]);
        } else {
            let data = fs::read(&path)?;
            entry(&mut out, &rel, mode, mtime, Kind::File, &data);
        }
    }
    for (rel, data) in extra {
        entry(&mut out, rel, 0o644, 0, Kind::File, data);
    }
    // end of archive: two zero blocks
    out.resize(out.len() + 2 * BLOCK, 0);
    Ok(out)
}

enum Kind<'a> {
    File,
    Symlink(&'a str),
}

fn entry(out: &mut Vec<u8>, name: &str, mode: u32, mtime: u64, kind: Kind, data: &[u8]) {
    let link = match kind {
        Kind::File => "",
        Kind::Symlink(target) => target,
    };
    // GNU long names and link targets: a pseudo-entry holding the full text
    if name.len() > 100 {
        long(out, b'L', name);
    }
    if link.len() > 100 {
        long(out, b'K', link);
    }
    let typeflag = match kind {
        Kind::File => b'0',
        Kind::Symlink(_) => b'2',
    };
    let size = if typeflag == b'0' { data.len() } else { 0 };
    header(out, name, mode, mtime, size as u64, typeflag, link);
    if typeflag == b'0' {
        out.extend_from_slice(data);
        pad(out);
    }
}

fn long(out: &mut Vec<u8>, typeflag: u8, text: &str) {
    header(
        out,
        "././@LongLink",
        0o644,
        0,
        text.len() as u64 + 1,
        typeflag,
        "",
    );
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    pad(out);
}

fn header(
    out: &mut Vec<u8>,
    name: &str,
    mode: u32,
    mtime: u64,
    size: u64,
    typeflag: u8,
    link: &str,
) {
    let mut h = [0u8; BLOCK];
    put(&mut h[0..100], name.as_bytes());
    octal(&mut h[100..108], mode as u64);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = typeflag;
    put(&mut h[157..257], link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // the checksum is computed with its own field as spaces
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&b| b as u64).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    out.extend_from_slice(&h);
}

/// Copy as much of `text` as fits (long names also get a GNU entry first).
fn put(field: &mut [u8], text: &[u8]) {
    let n = text.len().min(field.len());
    field[..n].copy_from_slice(&text[..n]);
}

/// A zero-padded octal number ending in NUL.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let text = &text.as_bytes()[text.len().saturating_sub(width)..];
    field[..width].copy_from_slice(text);
    field[width] = 0;
}

fn pad(out: &mut Vec<u8>) {
    let rem = out.len() % BLOCK;
    if rem != 0 {
        out.resize(out.len() + BLOCK - rem, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_ustar_with_valid_checksums_and_long_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "hello").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "skip*\n").unwrap();
        std::fs::write(dir.path().join("skipped"), "no").unwrap();
        let long_name = format!("{}.txt", "x".repeat(120));
        let tar = context_tar(dir.path(), &[(long_name.clone(), b"gen".to_vec())]).unwrap();
        assert_eq!(tar.len() % BLOCK, 0);
        let text = String::from_utf8_lossy(&tar);
        assert!(text.contains("a.txt") && text.contains("hello"));
        assert!(!text.contains("skipped"));
        assert!(text.contains("././@LongLink") && text.contains(&long_name));
        let first = &tar[..BLOCK];
        assert_eq!(&first[257..263], b"ustar\0");
        let mut copy = first.to_vec();
        copy[148..156].copy_from_slice(b"        ");
        let sum: u64 = copy.iter().map(|&b| b as u64).sum();
        let stored = std::str::from_utf8(&first[148..154]).unwrap();
        assert_eq!(u64::from_str_radix(stored, 8).unwrap(), sum);
    }
}
