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

/// The project as `docker compose config` prints it: literal `$` written `$$`
/// so the output can be read back without being interpolated again.
pub fn config_value(p: &Project) -> serde_json::Value {
    fn escape(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
            serde_json::Value::Array(a) => a.iter_mut().for_each(escape),
            serde_json::Value::Object(o) => o.values_mut().for_each(escape),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(p).expect("the model serialises");
    escape(&mut v);
    v
}
