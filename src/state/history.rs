//! The history of deploys (format 5): after every apply (or rollback) that
//! changed containers and finished without a failure, the state appends
//! what then ran: per container its recorded spec (sensitive values sealed,
//! as in `resources`), that spec's hash and the ID of the image it ran.
//! `berth rollback` plans the return to one of them; the images of the
//! deploys kept are tagged `berth-keep/<project>:<serial>-<service>` so that
//! `docker image prune` leaves them.
//!
//! Only the last few deploys are kept: `--keep-deploys N` (or
//! `BERTH_KEEP_DEPLOYS`), 5 unless said.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::State;
use crate::resource::{Address, Kind};

/// The repository of the references that keep a project's deployed images.
pub const KEEP_REPOSITORY: &str = "berth-keep";

/// One deploy: what ran once an apply finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// The state's serial once the deploy was recorded (`rollback --to`).
    pub serial: u64,
    /// When it finished, RFC 3339 UTC.
    pub time: String,
    /// Every container the state recorded then, by address.
    pub containers: BTreeMap<Address, DeployedContainer>,
}

/// One container of a deploy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployedContainer {
    /// The hash of `spec`, as the state recorded it.
    pub spec_hash: String,
    /// The image the container ran (`sha256:...`).
    pub image_id: String,
    /// The recorded spec (sensitive values sealed).
    pub spec: serde_json::Value,
}

impl State {
    /// Appends the deploy of what the state records now (the containers,
    /// each with the image it runs, from `image_ids`; one whose image is not
    /// known is left out), with the serial of the state's next save, and
    /// keeps only the last `keep` deploys.
    pub fn record_deploy(
        &mut self,
        time: String,
        image_ids: &BTreeMap<Address, String>,
        keep: usize,
    ) {
        let containers: BTreeMap<Address, DeployedContainer> = self
            .resources
            .iter()
            .filter(|(a, _)| a.kind == Kind::Container)
            .filter_map(|(a, r)| {
                let image_id = image_ids.get(a).filter(|id| !id.is_empty())?;
                Some((
                    a.clone(),
                    DeployedContainer {
                        spec_hash: r.spec_hash.clone(),
                        image_id: image_id.clone(),
                        spec: r.spec.clone(),
                    },
                ))
            })
            .collect();
        self.history.push(Deploy {
            serial: self.serial + 1,
            time,
            containers,
        });
        self.keep_deploys(keep);
    }

    /// Forgets all but the last `keep` deploys.
    pub fn keep_deploys(&mut self, keep: usize) {
        let drop = self.history.len().saturating_sub(keep);
        self.history.drain(..drop);
    }

    /// The deploy `berth rollback` returns to: the one with serial `to`, or
    /// by default the one before the latest. The error is one line that says
    /// what the history holds.
    pub fn rollback_target(&self, to: Option<u64>) -> Result<&Deploy, String> {
        let serials = || {
            self.history
                .iter()
                .map(|d| format!("{} ({})", d.serial, d.time))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match to {
            Some(serial) => self
                .history
                .iter()
                .find(|d| d.serial == serial)
                .ok_or_else(|| match self.history.len() {
                    0 => format!(
                        "no deploy with serial {serial}: the state records no deploys yet (every `berth apply` that changes containers records one)"
                    ),
                    _ => format!(
                        "no deploy with serial {serial}; the state records deploys {}",
                        serials()
                    ),
                }),
            None => match self.history.len() {
                0 => Err("nothing to roll back to: the state records no deploys yet (every `berth apply` that changes containers records one)".into()),
                1 => Err(format!(
                    "nothing to roll back to: the state records one deploy only, {}, which is the latest",
                    serials()
                )),
                n => Ok(&self.history[n - 2]),
            },
        }
    }
}

/// The repository of `project`'s kept images: `berth-keep/<project>`, the
/// project name made a valid repository path component (lowercase letters
/// and digits, runs of anything else as one `-`).
pub fn keep_repository(project: &str) -> String {
    let mut name = String::new();
    for c in project.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-');
    let name = if name.is_empty() { "project" } else { name };
    format!("{KEEP_REPOSITORY}/{name}")
}

/// The references that keep the images of `history`'s deploys: per deploy,
/// one tag per image, `<serial>-<service>` after the first service (by
/// address) that ran it (`<serial>-<service>-<n>`, after its replica, when
/// that tag is taken by another image of the same deploy), with the image ID
/// each names. A deploy's tags never change, so a later apply only adds the
/// new deploy's and removes those of the deploys no longer kept.
pub fn kept_references(project: &str, history: &[Deploy]) -> BTreeMap<String, String> {
    let repository = keep_repository(project);
    let mut out = BTreeMap::new();
    for deploy in history {
        let mut first: BTreeMap<&str, &Address> = BTreeMap::new();
        for (address, c) in &deploy.containers {
            first.entry(c.image_id.as_str()).or_insert(address);
        }
        let mut by_address: Vec<(&Address, &str)> =
            first.into_iter().map(|(id, a)| (a, id)).collect();
        by_address.sort();
        let mut taken = BTreeSet::new();
        for (address, id) in by_address {
            let service = address.service().unwrap_or(&address.name);
            let mut tag = format!("{}-{service}", deploy.serial);
            if !taken.insert(tag.clone()) {
                tag = format!("{tag}-{}", address.index.unwrap_or(1));
                taken.insert(tag.clone());
            }
            // a tag is at most 128 characters
            let tag: String = tag.chars().take(128).collect();
            out.insert(format!("{repository}:{tag}"), id.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateResource;
    use serde_json::json;

    fn state_running(images: &[(&str, &str)]) -> (State, BTreeMap<Address, String>) {
        let mut state = State::new("demo");
        let mut ids = BTreeMap::new();
        for (address, image) in images {
            let address: Address = address.parse().unwrap();
            state.insert(
                address.clone(),
                StateResource {
                    id: format!("id-{address}"),
                    name: "n".into(),
                    spec_hash: format!("hash-{image}"),
                    spec: json!({"image": "web:latest", "environment": {"DB_PASSWORD": "hmac-sha256:00"}}),
                },
            );
            ids.insert(address, image.to_string());
        }
        state.insert(
            Address::network("default"),
            StateResource {
                id: "net".into(),
                name: "demo_default".into(),
                spec_hash: "n".into(),
                spec: json!({}),
            },
        );
        (state, ids)
    }

    #[test]
    fn a_deploy_records_every_container_with_its_image_and_the_next_serial() {
        let (mut state, ids) = state_running(&[
            ("container.web[1]", "sha256:a"),
            ("container.db[1]", "sha256:b"),
        ]);
        state.serial = 7;
        state.record_deploy("2026-12-01T17:00:00Z".into(), &ids, 5);
        assert_eq!(state.history.len(), 1);
        let deploy = &state.history[0];
        assert_eq!(deploy.serial, 8, "the serial the next save writes");
        assert_eq!(deploy.time, "2026-12-01T17:00:00Z");
        let addresses: Vec<String> = deploy.containers.keys().map(ToString::to_string).collect();
        assert_eq!(
            addresses,
            ["container.db[1]", "container.web[1]"],
            "containers only"
        );
        let web = &deploy.containers[&Address::container("web", 1)];
        assert_eq!(web.image_id, "sha256:a");
        assert_eq!(web.spec_hash, "hash-sha256:a");
        assert_eq!(
            web.spec["environment"]["DB_PASSWORD"], "hmac-sha256:00",
            "as recorded: sealed"
        );
    }

    #[test]
    fn a_container_whose_image_is_unknown_is_left_out() {
        let (mut state, mut ids) =
            state_running(&[("container.web[1]", "sha256:a"), ("container.db[1]", "")]);
        ids.remove(&Address::container("web", 1));
        state.record_deploy("t".into(), &ids, 5);
        assert!(state.history[0].containers.is_empty());
    }

    #[test]
    fn only_the_last_deploys_are_kept() {
        let (mut state, ids) = state_running(&[("container.web[1]", "sha256:a")]);
        for serial in 0..7 {
            state.serial = serial * 10;
            state.record_deploy(format!("t{serial}"), &ids, 3);
        }
        let serials: Vec<u64> = state.history.iter().map(|d| d.serial).collect();
        assert_eq!(serials, [41, 51, 61]);
        state.keep_deploys(0);
        assert!(state.history.is_empty());
    }

    fn history(serials: &[u64]) -> State {
        let (mut state, ids) = state_running(&[("container.web[1]", "sha256:a")]);
        for s in serials {
            state.serial = s - 1;
            state.record_deploy(format!("T{s}"), &ids, 10);
        }
        state
    }

    #[test]
    fn rollback_goes_to_the_deploy_before_the_latest_or_the_one_named() {
        let state = history(&[3, 8, 12]);
        assert_eq!(state.rollback_target(None).unwrap().serial, 8);
        assert_eq!(state.rollback_target(Some(3)).unwrap().serial, 3);
        assert_eq!(state.rollback_target(Some(12)).unwrap().serial, 12);
    }

    #[test]
    fn nothing_to_roll_back_to_says_what_the_history_holds() {
        assert_eq!(
            history(&[]).rollback_target(None).unwrap_err(),
            "nothing to roll back to: the state records no deploys yet (every `berth apply` that changes containers records one)"
        );
        assert_eq!(
            history(&[4]).rollback_target(None).unwrap_err(),
            "nothing to roll back to: the state records one deploy only, 4 (T4), which is the latest"
        );
        assert_eq!(
            history(&[4, 9]).rollback_target(Some(5)).unwrap_err(),
            "no deploy with serial 5; the state records deploys 4 (T4), 9 (T9)"
        );
        assert!(
            history(&[])
                .rollback_target(Some(5))
                .unwrap_err()
                .starts_with("no deploy with serial 5: the state records no deploys yet")
        );
    }

    #[test]
    fn repositories_are_valid_docker_names() {
        assert_eq!(keep_repository("demo"), "berth-keep/demo");
        assert_eq!(keep_repository("my_app--2"), "berth-keep/my-app-2");
        assert_eq!(keep_repository("App_"), "berth-keep/app");
        assert_eq!(keep_repository("__"), "berth-keep/project");
    }

    #[test]
    fn each_deploy_keeps_one_reference_per_image_named_after_its_first_service() {
        let (mut state, ids) = state_running(&[
            ("container.web[1]", "sha256:w"),
            ("container.web[2]", "sha256:w"),
            ("container.db[1]", "sha256:d1"),
            ("container.db[2]", "sha256:d2"),
            ("container.api[1]", "sha256:w"),
        ]);
        state.serial = 4;
        state.record_deploy("t".into(), &ids, 5);
        let kept = kept_references("demo", &state.history);
        let want: BTreeMap<String, String> = [
            ("berth-keep/demo:5-api", "sha256:w"),
            ("berth-keep/demo:5-db", "sha256:d1"),
            ("berth-keep/demo:5-db-2", "sha256:d2"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(kept, want);
    }
}
