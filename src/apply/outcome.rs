//! What a finished step changes in the state, whatever backend carried it
//! out: the executor hands it to the caller, who records it and saves.

use crate::resource::Address;
use crate::state::{State, StateResource};

/// What a finished step changes in the state.
pub enum Outcome {
    Put(Address, StateResource),
    Forget(Address),
    /// Nothing new to record (a container recorded at create was started,
    /// a leftover the state never knew was removed).
    Started,
    /// Several records at once (a rollout rolled back: the old containers
    /// of its service are back).
    Many(Vec<Outcome>),
}

impl Outcome {
    /// Record it in `state`.
    pub fn apply_to(self, state: &mut State) {
        match self {
            Outcome::Put(a, r) => {
                state.insert(a, r);
            }
            Outcome::Forget(a) => {
                state.remove(&a);
            }
            Outcome::Started => {}
            Outcome::Many(all) => {
                for o in all {
                    o.apply_to(state);
                }
            }
        }
    }
}
