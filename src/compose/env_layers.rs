//! How Compose stacks variables, written once: the shell environment wins,
//! env files fill in what it lacks (a later file over an earlier one, each file
//! seeing what is set so far), and a stage can settle what it found so that the
//! next stage only adds to it. Used for the project's `.env` and `--env-file`
//! (from the directory berth starts in, then the project directory), for an
//! included project's env files, for the `-p` name, and for the scope of a
//! service's `env_file` and `label_file`.

use std::collections::{BTreeMap, BTreeSet};

use super::dotenv::{self, EnvFileError};
use super::interpolate::Vars;

/// Variables in two layers: fixed ones that nothing later replaces, over
/// layered ones where a later value replaces an earlier one.
#[derive(Debug, Clone, Default)]
pub struct EnvLayers {
    /// Fixed over layered: what a file being read refers to, and the result.
    vars: Vars,
    fixed: BTreeSet<String>,
}

impl EnvLayers {
    /// Every variable of `vars` fixed (the shell environment, or what an earlier stage settled).
    pub fn fixed(vars: BTreeMap<String, String>) -> Self {
        EnvLayers {
            fixed: vars.keys().cloned().collect(),
            vars: Vars::new(vars),
        }
    }

    /// `vars` with only the names `fixed` says fixed; the others may be replaced.
    pub fn over(vars: Vars, fixed: impl Fn(&str) -> bool) -> Self {
        EnvLayers {
            fixed: vars.as_map().keys().filter(|k| fixed(k)).cloned().collect(),
            vars,
        }
    }

    /// A layered value: replaces an earlier layered one, never a fixed one.
    pub fn set(&mut self, name: String, value: String) {
        if !self.fixed.contains(&name) {
            self.vars.insert(name, value);
        }
    }

    /// A fixed value, over everything (`-p` as `COMPOSE_PROJECT_NAME`).
    pub fn force(&mut self, name: String, value: String) {
        self.fixed.insert(name.clone());
        self.vars.insert(name, value);
    }

    /// Layer an env file: its values may refer to what is set so far; a bare
    /// `KEY` takes nothing (what is set stays).
    pub fn add_env_file(&mut self, text: &str) -> Result<(), EnvFileError> {
        for (k, v) in dotenv::parse(text, &self.vars)? {
            if let Some(v) = v {
                self.set(k, v);
            }
        }
        Ok(())
    }

    /// Everything set so far becomes fixed: the next stage only fills in.
    pub fn settle(mut self) -> Self {
        self.fixed = self.vars.as_map().keys().cloned().collect();
        self
    }

    pub fn vars(&self) -> &Vars {
        &self.vars
    }

    pub fn into_vars(self) -> Vars {
        self.vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_shell_wins_and_a_later_file_replaces_an_earlier_one() {
        let mut env = EnvLayers::fixed(shell(&[("A", "shell")]));
        env.add_env_file("A=one\nB=one\nC=one\n").unwrap();
        env.add_env_file("B=two\nD=${C}-$A\n").unwrap();
        let v = env.vars();
        assert_eq!(v.get("A"), Some("shell"));
        assert_eq!(v.get("B"), Some("two"));
        assert_eq!(
            v.get("D"),
            Some("one-shell"),
            "a file sees what is set so far"
        );
    }

    #[test]
    fn a_settled_stage_is_only_filled_in() {
        let mut env = EnvLayers::fixed(shell(&[]));
        env.add_env_file("A=first\n").unwrap();
        let mut env = env.settle();
        env.add_env_file("A=second\nB=second\n").unwrap();
        assert_eq!(env.vars().get("A"), Some("first"));
        assert_eq!(env.vars().get("B"), Some("second"));
    }

    #[test]
    fn a_forced_value_wins_over_the_shell() {
        let mut env = EnvLayers::fixed(shell(&[("COMPOSE_PROJECT_NAME", "shell")]));
        env.force("COMPOSE_PROJECT_NAME".into(), "flag".into());
        env.add_env_file("COMPOSE_PROJECT_NAME=file\n").unwrap();
        assert_eq!(env.vars().get("COMPOSE_PROJECT_NAME"), Some("flag"));
    }

    #[test]
    fn an_invalid_file_is_an_error_with_its_line() {
        let mut env = EnvLayers::default();
        let e = env.add_env_file("A=1\nB C\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
