//! The Compose Specification: files in, one canonical [`Project`] out.
pub mod decode;
pub mod diagnostic;
pub mod dotenv;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod model;
pub mod node;
pub mod source;
pub mod units;
pub mod validate;
pub mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use load::{LoadOptions, Loaded, load};
pub use model::Project;

/// The project as `docker compose config --format json` prints it: literal `$`
/// written `$$`, so the output can be read back without being interpolated again.
/// (`$` only occurs inside JSON strings, so escaping the text is exact.)
pub fn config_json(p: &Project) -> String {
    let mut s = serde_json::to_string_pretty(p).expect("the model serialises");
    s.push('\n');
    escape_dollars(s)
}

/// The project as `docker compose config` prints it in YAML.
pub fn config_yaml(p: &Project) -> String {
    escape_dollars(serde_yaml::to_string(p).expect("the model serialises"))
}

fn escape_dollars(s: String) -> String {
    if s.contains('$') {
        s.replace('$', "$$")
    } else {
        s
    }
}
