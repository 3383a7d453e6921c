//! The Compose Specification: files in, one canonical [`Project`] out.
pub mod backend;
pub mod decode;
pub mod diagnostic;
pub mod dotenv;
pub mod env_layers;
pub mod host;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod model;
pub mod node;
pub mod source;
pub mod support;
pub mod units;
pub mod validate;
pub mod yaml;

pub use backend::BackendKind;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use host::{Host, MemoryHost, RealHost};
pub use load::{LoadOptions, Loaded, load, load_from};
pub use model::Project;

/// Write the project as `docker compose config` prints it (JSON, or YAML):
/// literal `$` written `$$`, so the output can be read back without being
/// interpolated again. `$` only occurs inside strings, so escaping the text is exact.
pub fn write_config(p: &Project, json: bool, out: impl std::io::Write) -> std::io::Result<()> {
    use std::io::Write as _;
    // serde writes many small pieces: buffer them before the escaping pass
    let mut out = std::io::BufWriter::with_capacity(1 << 16, EscapeDollars(out));
    if json {
        serde_json::to_writer_pretty(&mut out, p).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
    } else {
        serde_yaml::to_writer(&mut out, p).map_err(std::io::Error::other)?;
    }
    out.flush()
}

/// The JSON form of [`write_config`], as a string.
pub fn config_json(p: &Project) -> String {
    let mut buf = Vec::new();
    write_config(p, true, &mut buf).expect("writing to memory does not fail");
    String::from_utf8(buf).expect("JSON is UTF-8")
}

/// A writer that doubles every `$`.
struct EscapeDollars<W>(W);

impl<W: std::io::Write> std::io::Write for EscapeDollars<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'$') {
            self.0.write_all(&rest[..=i])?;
            self.0.write_all(b"$")?;
            rest = &rest[i + 1..];
        }
        self.0.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The project `yaml` loads as (as `/project/compose.yaml`, project `name`),
/// from a file tree in memory: where tests of the later stages start.
#[cfg(test)]
pub(crate) fn project_from_yaml(yaml: &str, name: &str) -> Project {
    let host = MemoryHost::default().file("/project/compose.yaml", yaml);
    let options = LoadOptions {
        working_dir: "/project".into(),
        project_name: Some(name.into()),
        ..Default::default()
    };
    match load_from(&host, options) {
        Ok(loaded) => loaded.project,
        Err(d) => panic!("{}", d.render(false)),
    }
}
