//! What a saved plan was made from: the hash of every input (compose and
//! env files, build contexts, config and secret files), so `berth apply
//! FILE` can refuse a plan whose inputs changed and say which.

use std::collections::BTreeMap;

use crate::compose::Loaded;
use crate::plan::saved;
use crate::resource::Desired;

/// The hash of every input a plan depends on.
pub fn input_hashes(loaded: &Loaded, desired: &Desired) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for path in &loaded.inputs {
        out.insert(path.display().to_string(), saved::file_hash(path));
    }
    for r in desired.resources.values() {
        if let Some(b) = r.typed().image().and_then(|i| i.build.as_ref()) {
            out.insert(
                format!("build-context:{}", b.context),
                b.context_hash.clone(),
            );
        }
        if let Some(c) = r.typed().container() {
            for (k, v) in &c.files {
                out.insert(format!("{}:{k}", r.address), v.clone());
            }
        }
    }
    out
}
