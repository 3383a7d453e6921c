//! Variable interpolation (`${VAR:-default}` ...) and the `.env` parser on arbitrary text.
#![no_main]

use std::collections::BTreeMap;

use berth::compose::dotenv;
use berth::compose::interpolate::{Vars, expand};
use libfuzzer_sys::fuzz_target;

fn vars() -> Vars {
    let map: BTreeMap<String, String> = [
        ("HOME", "/root"),
        ("TAG", "1.0"),
        ("EMPTY", ""),
        ("DOLLAR", "$A ${B}"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Vars::new(map)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let vars = vars();
    let _ = expand(text, &vars);
    let _ = dotenv::parse(text, &vars);
});
