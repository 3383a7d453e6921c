//! `berth state list | show | history | rm | mv | pull` and `berth force-unlock`.
//!
//! `list`, `show`, `history` and `pull` only read the state. `rm` and `mv` change the
//! state file alone, never the engine: they take the state lock for the whole
//! command, change nothing unless every address checks out, and save as every
//! write does (atomically, keeping `<state>.backup`).

use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{GlobalArgs, LockArgs, StateCommand};
use crate::error::Error;
use crate::output::print_out;
use crate::pipeline::{load, state_path, take_lock};
use crate::resource::Address;
use crate::state::{Holder, State, StateError, StateStore, lock, lock_path};

fn read(g: &GlobalArgs) -> Result<Option<State>, Error> {
    let source = super::source(g);
    let loaded = load(&source, &[])?;
    let store = StateStore::new(state_path(&source, &loaded));
    Ok(store.load(&loaded.project.name)?)
}

/// One line per deploy: serial, time, how many containers, and which are
/// the latest and the one `berth rollback` returns to by default.
fn history(deploys: &[crate::state::Deploy]) -> String {
    let width = deploys
        .iter()
        .map(|d| d.serial.to_string().len())
        .max()
        .unwrap_or(0);
    let n = deploys.len();
    let mut out = String::new();
    for (i, d) in deploys.iter().enumerate() {
        let count = d.containers.len();
        let note = match n - i {
            1 => "  (latest)",
            2 => "  (berth rollback returns here)",
            _ => "",
        };
        out.push_str(&format!(
            "{:>width$}  {}  {count} container{}{note}\n",
            d.serial,
            d.time,
            if count == 1 { "" } else { "s" }
        ));
    }
    out
}

/// The last failed rollout, after the deploys.
fn failed_rollout(f: &crate::state::FailedRollout) -> String {
    let which: Vec<String> = f.failed.iter().map(Address::to_string).collect();
    format!(
        "\nlast failed rollout, {}: {}: {}\n",
        f.time,
        which.join(", "),
        f.outcome
    )
}

fn parse(address: &str) -> Result<Address, Error> {
    address
        .parse()
        .map_err(|e: crate::resource::address::BadAddress| Error::Usage(e.to_string()))
}

fn not_in_state(addresses: &[String], nothing: &str) -> Error {
    let list = addresses
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let verb = if addresses.len() == 1 { "is" } else { "are" };
    Error::Usage(format!(
        "{list} {verb} not in the state; {nothing}: `berth state list` shows what is"
    ))
}

pub fn run(g: &GlobalArgs, cmd: &StateCommand) -> Result<ExitCode, Error> {
    match cmd {
        StateCommand::List => {
            let state = read(g)?;
            let mut out = String::new();
            for address in state.iter().flat_map(|s| s.resources.keys()) {
                out.push_str(&format!("{address}\n"));
            }
            print_out(&out)?;
        }
        StateCommand::History => {
            let state = read(g)?;
            print_out(&history(state.as_ref().map_or(&[], |s| &s.history)))?;
            if let Some(f) = state.as_ref().and_then(|s| s.last_failed_rollout.as_ref()) {
                print_out(&failed_rollout(f))?;
            }
        }
        StateCommand::Show { address } => {
            let state = read(g)?;
            let address = parse(address)?;
            let found = state.as_ref().and_then(|s| s.get(&address));
            let Some(r) = found else {
                return Err(Error::Usage(format!(
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
        StateCommand::Rm { addresses, lock } => {
            let addresses = addresses
                .iter()
                .map(|a| parse(a))
                .collect::<Result<Vec<_>, _>>()?;
            change(g, lock, "berth state rm", |state| rm(state, &addresses))?;
        }
        StateCommand::Mv { from, to, lock } => {
            let (from, to) = (parse(from)?, parse(to)?);
            change(g, lock, "berth state mv", |state| mv(state, &from, &to))?;
        }
        StateCommand::Pull => pull(g)?,
        StateCommand::Restore { lock } => restore(g, lock)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the state under the lock, lets `edit` change it (returning what to
/// print), and saves it; nothing is saved when `edit` fails.
fn change(
    g: &GlobalArgs,
    lock: &LockArgs,
    command: &str,
    edit: impl FnOnce(&mut State) -> Result<String, Error>,
) -> Result<(), Error> {
    let source = super::source(g);
    let loaded = load(&source, &[])?;
    let path = state_path(&source, &loaded);
    let _guard = take_lock(&path, command, super::lock(lock))?;
    let store = StateStore::new(path);
    let Some(mut state) = store.load(&loaded.project.name)? else {
        return Err(Error::Usage(format!(
            "there is no state at `{}`; nothing was changed",
            store.path().display()
        )));
    };
    let out = edit(&mut state)?;
    store.save(&mut state)?;
    print_out(&out)
}

/// `berth state restore`: the backup becomes the state, under the lock.
fn restore(g: &GlobalArgs, lock: &LockArgs) -> Result<(), Error> {
    let source = super::source(g);
    let loaded = load(&source, &[])?;
    let path = state_path(&source, &loaded);
    let _guard = take_lock(&path, "berth state restore", super::lock(lock))?;
    let store = StateStore::new(path);
    let had = store.path().exists();
    let state = store.restore_backup(&loaded.project.name)?;
    let mut out = format!(
        "Restored `{}` from `{}` (serial {}, {} resources).\n",
        store.path().display(),
        store.backup_path().display(),
        state.serial,
        state.resources.len()
    );
    if had {
        out.push_str(&format!(
            "The file it replaced is kept as `{}`.\n",
            store.replaced_path().display()
        ));
    }
    out.push_str("Run `berth plan` to see how the engine differs from it.\n");
    print_out(&out)
}

fn rm(state: &mut State, addresses: &[Address]) -> Result<String, Error> {
    let mut unknown: Vec<String> = vec![];
    for a in addresses {
        if state.get(a).is_none() && !unknown.contains(&a.to_string()) {
            unknown.push(a.to_string());
        }
    }
    if !unknown.is_empty() {
        return Err(not_in_state(&unknown, "nothing was removed"));
    }
    let mut out = String::new();
    let mut removed = 0;
    for a in addresses {
        if state.remove(a).is_some() {
            out.push_str(&format!("Removed {a}\n"));
            removed += 1;
        }
    }
    out.push_str(&format!(
        "\nRemoved {removed} resource{} from the state; the engine was not changed.\n",
        if removed == 1 { "" } else { "s" }
    ));
    Ok(out)
}

fn mv(state: &mut State, from: &Address, to: &Address) -> Result<String, Error> {
    if from.kind != to.kind {
        return Err(Error::Usage(format!(
            "cannot move `{from}` to `{to}`: a {} cannot become a {}; nothing was moved",
            from.kind.as_str(),
            to.kind.as_str()
        )));
    }
    if from == to {
        return Err(Error::Usage(format!(
            "`{from}` and `{to}` are the same address; nothing was moved"
        )));
    }
    if state.get(to).is_some() {
        return Err(Error::Usage(format!(
            "cannot move `{from}` to `{to}`: `{to}` is already in the state; nothing was moved: `berth state rm {to}` first if it should go"
        )));
    }
    let Some(resource) = state.remove(from) else {
        return Err(not_in_state(&[from.to_string()], "nothing was moved"));
    };
    let name = resource.name.clone();
    state.insert(to.clone(), resource);
    Ok(format!(
        "Moved {from} to {to} (engine name `{name}` unchanged); the engine was not changed.\n"
    ))
}

/// Prints the state file byte for byte, once it is known to be a state of this project.
fn pull(g: &GlobalArgs) -> Result<(), Error> {
    let source = super::source(g);
    let loaded = load(&source, &[])?;
    let store = StateStore::new(state_path(&source, &loaded));
    if store.load(&loaded.project.name)?.is_none() {
        eprintln!(
            "no state at `{}`: nothing applied yet",
            store.path().display()
        );
        return Ok(());
    }
    let bytes = std::fs::read(store.path()).map_err(|source| StateError::Read {
        path: store.path().to_path_buf(),
        source,
    })?;
    print_out(&String::from_utf8_lossy(&bytes))
}

/// `berth force-unlock`: berth's lock is an OS file lock that ends with its
/// holder, so there is never a lock to break, only a stale note (who held it
/// last) to clear. A live holder is named, never overridden.
pub fn force_unlock(g: &GlobalArgs) -> Result<ExitCode, Error> {
    let source = super::source(g);
    let loaded = load(&source, &[])?;
    let state = state_path(&source, &loaded);
    let lock_file = lock_path(&state);
    let note = match std::fs::read(&lock_file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            print_out(&format!(
                "state `{}` is not locked (there is no `{}`); nothing to do\n",
                state.display(),
                lock_file.display()
            ))?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(Error::io(format!("read `{}`", lock_file.display()), e)),
    };
    match lock(&state, "berth force-unlock", Duration::ZERO) {
        // Released at once: the lock file is left empty, naming nobody.
        Ok(guard) => drop(guard),
        Err(StateError::Locked { holder, lock, .. }) => {
            return Err(Error::Usage(held_message(&state, &lock, holder.as_deref())));
        }
        Err(e) => return Err(e.into()),
    }
    let stale: Option<Holder> = serde_json::from_slice(&note).ok();
    let out = match stale {
        Some(h) => format!(
            "state `{}` was not locked; cleared the stale note in `{}` naming pid {} on host {} running `{}` since {} (that process no longer holds the lock)\n",
            state.display(),
            lock_file.display(),
            h.pid,
            h.host,
            h.command,
            h.since
        ),
        None if note.iter().all(u8::is_ascii_whitespace) => {
            format!("state `{}` is not locked; nothing to do\n", state.display())
        }
        None => format!(
            "state `{}` was not locked; cleared unreadable text in `{}`\n",
            state.display(),
            lock_file.display()
        ),
    };
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn held_message(state: &Path, lock: &Path, holder: Option<&Holder>) -> String {
    let (by, stop) = match holder {
        Some(h) => (
            format!(
                "pid {} on host {} running `{}` since {}",
                h.pid, h.host, h.command, h.since
            ),
            format!("`kill {}` on {}", h.pid, h.host),
        ),
        None => (
            format!(
                "another process (`{}` does not name it; `fuser -v {}` does)",
                lock.display(),
                lock.display()
            ),
            "`kill` it".to_string(),
        ),
    };
    format!(
        "state `{}` is locked by {by}, which is still running; not unlocked: berth's lock is an OS file lock that ends with its process and cannot be broken while it runs. Wait for it to finish, or stop it ({stop}); the lock is free the moment it ends",
        state.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Deploy, DeployedContainer};

    fn deploy(serial: u64, containers: usize) -> Deploy {
        Deploy {
            serial,
            time: format!("2026-12-01T17:00:{serial:02}Z"),
            containers: (1..=containers as u32)
                .map(|n| {
                    (
                        Address::container("web", n),
                        DeployedContainer {
                            spec_hash: "h".into(),
                            image_id: "sha256:a".into(),
                            spec: serde_json::json!({}),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn the_history_lists_each_deploy_and_marks_the_latest_and_rollbacks_default() {
        assert_eq!(
            history(&[deploy(8, 2), deploy(14, 1), deploy(103, 3)]),
            "  8  2026-12-01T17:00:08Z  2 containers\n 14  2026-12-01T17:00:14Z  1 container  (berth rollback returns here)\n103  2026-12-01T17:00:103Z  3 containers  (latest)\n"
        );
        assert_eq!(
            history(&[deploy(5, 1)]),
            "5  2026-12-01T17:00:05Z  1 container  (latest)\n"
        );
        assert_eq!(history(&[]), "");
    }
}
