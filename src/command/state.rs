//! `berth state list` and `berth state show ADDRESS`: read the state file.

use std::process::ExitCode;

use crate::cli::{GlobalArgs, StateCommand};
use crate::command::plan::state_path;
use crate::resource::Address;
use crate::run::{Error, load, print_out};
use crate::state::{State, StateStore};

fn read(g: &GlobalArgs) -> Result<Option<State>, Error> {
    let loaded = load(g, &[])?;
    let store = StateStore::new(state_path(g, &loaded));
    Ok(store.load(&loaded.project.name)?)
}

pub fn run(g: &GlobalArgs, cmd: &StateCommand) -> Result<ExitCode, Error> {
    let state = read(g)?;
    match cmd {
        StateCommand::List => {
            let mut out = String::new();
            for address in state.iter().flat_map(|s| s.resources.keys()) {
                out.push_str(&format!("{address}\n"));
            }
            print_out(&out)?;
        }
        StateCommand::Show { address } => {
            let address: Address = address
                .parse()
                .map_err(|e: crate::resource::address::BadAddress| Error::Io(e.to_string()))?;
            let found = state.as_ref().and_then(|s| s.get(&address));
            let Some(r) = found else {
                return Err(Error::Io(format!(
                    "`{address}` is not in the state; `berth state list` shows what is"
                )));
            };
            let shown = serde_json::json!({
                "address": address.to_string(),
                "id": r.id,
                "name": r.name,
                "spec_hash": r.spec_hash,
                "spec": crate::plan::sensitive::mask(&r.spec),
            });
            print_out(&(serde_json::to_string_pretty(&shown).expect("JSON serialises") + "\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
