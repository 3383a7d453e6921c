//! The plan for a terminal, laid out like Terraform's:
//!
//! ```text
//!   # container.web[1] must be replaced
//! -/+ container.web[1] (demo-web-1)
//!       ~ ports[0].published: "5000" -> "8080"
//! ```
//!
//! Colour only when asked: styles are forced on or off, so the output never
//! depends on what console guesses about the terminal.

use std::fmt::Write as _;

use console::Style;

use super::view::{
    DiffLine, LEFTOVERS, Line, NO_CHANGES, NOT_REFRESHED, ORPHANS, PlanView, ROLLOUTS, short_id,
    symbol, text_sign,
};
use crate::plan::{Action, Plan};

/// Indentation of a reason under its resource.
const REASON: &str = "      ";
/// Indentation of a line of a multi-line value's diff (its sign included).
const DIFF: &str = "        ";

/// The plan as terminal text, ending with a newline. `color: false` gives
/// plain text without a single escape code.
pub fn text(plan: &Plan, color: bool) -> String {
    let mut text = String::new();
    let _ = text_to(plan, color, &mut |chunk| {
        text.push_str(chunk);
        Ok(())
    });
    text
}

/// Above this many bytes, the text laid out so far goes to the writer.
const CHUNK: usize = 64 * 1024;

/// [`text()`], handed to `emit` in chunks as it is laid out: a plan of
/// thousands of resources is printed without holding all of its text
/// (chunks end at a resource's end; the concatenation is `text()`).
pub fn text_to(
    plan: &Plan,
    color: bool,
    emit: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let view = PlanView::new(plan);
    let p = Palette::new(color);
    let mut out = String::new();
    if !plan.refreshed {
        out.push_str(&format!("{}\n\n", p.dim.apply_to(NOT_REFRESHED)));
    }
    if !view.resources.is_empty() {
        out.push_str("berth will perform the following actions:\n\n");
    }
    // written in place (one plan line per resource, thousands of them):
    // no intermediate String per line
    for r in &view.resources {
        let c = r.change;
        let _ = write!(
            out,
            "{}",
            p.bold
                .apply_to(format_args!("  # {} {}", c.address, r.headline()))
        );
        if c.data_loss {
            let _ = write!(out, " {}", p.loss.apply_to("(data loss)"));
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "{} {} ({})",
            p.action(c.action).apply_to(symbol(c.action)),
            c.address,
            c.name
        );
        for line in &r.lines {
            push_line(&mut out, &p, line);
        }
        out.push('\n');
        if out.len() >= CHUNK {
            emit(&out)?;
            out.clear();
        }
    }
    if !plan.orphans.is_empty() {
        out.push_str(&format!("{}\n", p.bold.apply_to(ORPHANS)));
        for o in &plan.orphans {
            out.push_str(&format!("  {} {} ({})\n", o.kind, o.name, short_id(&o.id)));
        }
        out.push('\n');
    }
    if !plan.leftovers.is_empty() {
        out.push_str(&format!("{}\n", p.bold.apply_to(LEFTOVERS)));
        for l in &plan.leftovers {
            out.push_str(&format!(
                "  {} {} ({})\n",
                l.address,
                l.name,
                short_id(&l.id)
            ));
        }
        out.push('\n');
    }
    let rollouts = view.rollouts();
    if !rollouts.is_empty() {
        out.push_str(&format!("{}\n", p.bold.apply_to(ROLLOUTS)));
        for r in rollouts {
            out.push_str(&format!("  {r}\n"));
        }
        out.push('\n');
    }
    let summary = view.summary_line();
    let style = if summary == NO_CHANGES {
        &p.no_changes
    } else {
        &p.bold
    };
    out.push_str(&format!("{}\n", style.apply_to(summary)));
    emit(&out)
}

fn push_line(out: &mut String, p: &Palette, line: &Line) {
    let say = |out: &mut String, mark: &Style, sign: &str, text: &str| {
        out.push_str(&format!("{REASON}{} {text}\n", mark.apply_to(sign)));
    };
    match line {
        Line::Attribute { path, old, new } => match (old, new) {
            (Some(old), Some(new)) => say(out, &p.update, "~", &format!("{path}: {old} -> {new}")),
            (None, Some(new)) => say(out, &p.create, "+", &format!("{path}: {new}")),
            (Some(old), None) => say(out, &p.delete, "-", &format!("{path}: {old}")),
            (None, None) => say(out, &p.update, "~", path),
        },
        Line::TextDiff { path, drift, lines } => {
            if *drift {
                say(
                    out,
                    &p.drift,
                    "!",
                    &format!("changed outside berth: {path}:"),
                );
            } else {
                let sign = text_sign(lines);
                let style = match sign {
                    "+" => &p.create,
                    "-" => &p.delete,
                    _ => &p.update,
                };
                say(out, style, sign, &format!("{path}:"));
            }
            for l in lines {
                let shown = match l {
                    DiffLine::Same(s) => format!("  {s}"),
                    DiffLine::Removed(s) => p.delete.apply_to(format!("- {s}")).to_string(),
                    DiffLine::Added(s) => p.create.apply_to(format!("+ {s}")).to_string(),
                    DiffLine::Skipped => p.dim.apply_to("  ...").to_string(),
                };
                out.push_str(&format!("{DIFF}{}\n", shown.trim_end()));
            }
        }
        Line::Drift(text) => say(
            out,
            &p.drift,
            "!",
            &format!("changed outside berth: {text}"),
        ),
        Line::Warning(text) => say(out, &p.delete, "!", text),
        Line::Note(text) => out.push_str(&format!("{REASON}{text}\n")),
        Line::Security(text) => say(out, &p.security, "⚠ security:", text),
    }
}

struct Palette {
    create: Style,
    update: Style,
    replace: Style,
    delete: Style,
    read: Style,
    drift: Style,
    security: Style,
    loss: Style,
    bold: Style,
    dim: Style,
    no_changes: Style,
}

impl Palette {
    fn new(color: bool) -> Self {
        let s = || Style::new().force_styling(color);
        Palette {
            create: s().green(),
            update: s().yellow(),
            replace: s().magenta(),
            delete: s().red(),
            read: s().cyan(),
            drift: s().yellow().bold(),
            security: s().red().bold(),
            loss: s().red().bold(),
            bold: s().bold(),
            dim: s().dim(),
            no_changes: s().green().bold(),
        }
    }

    fn action(&self, action: Action) -> &Style {
        match action {
            Action::Create => &self.create,
            Action::Update => &self.update,
            Action::Replace => &self.replace,
            Action::Delete => &self.delete,
            Action::Read => &self.read,
            Action::NoOp => &self.dim,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::render::fixtures::{
        assert_text, change, config, everything, unchanged, with_secret,
    };
    use serde_json::json;

    #[test]
    fn chunks_of_a_large_plan_make_up_the_text() {
        let mut plan = everything();
        let one = plan.changes.clone();
        for _ in 0..500 {
            plan.changes.extend(one.iter().cloned());
        }
        for color in [false, true] {
            let mut chunks = Vec::new();
            text_to(&plan, color, &mut |c| {
                chunks.push(c.to_string());
                Ok(())
            })
            .unwrap();
            assert!(chunks.len() > 1);
            assert_eq!(chunks.concat(), text(&plan, color));
        }
    }

    #[test]
    fn every_action_and_every_reason_in_plain_words() {
        assert_text(
            &text(&everything(), false),
            r##"berth will perform the following actions:

  # network.back will be created
  + network.back (demo_back)

  # network.front must be replaced
-/+ network.front (demo_front)
      ~ internal: false -> true

  # network.shared is external and will be read
 <= network.shared (shared)
      ! external network `shared` does not exist on the engine; berth never creates it

  # volume.data must be replaced (data loss)
-/+ volume.data (demo_data)
      ~ driver: "local" -> "nfs"

  # volume.old will be destroyed (data loss)
  - volume.old (demo_old)
      removed from the compose files

  # image.web must be replaced
-/+ image.web (demo-web)
      ~ build.dockerfile_content:
          FROM scratch
          COPY berth-demo /berth-demo
        - EXPOSE 5000
        + EXPOSE 8080
          ENTRYPOINT ["/berth-demo"]
        + CMD ["serve"]
      ! changed outside berth: image tag demo-web now points at abcdef123456 (recorded 1234567890ab)

  # image.redis will be updated in place
  ~ image.redis (redis:7)
      already on the engine (id 77aa88bb99cc): recorded in the state as it is

  # container.web[1] must be replaced
-/+ container.web[1] (demo-web-1)
      ~ ports[0].published: "5000" -> "8080"
      ~ environment.DB_PASSWORD: (sensitive) -> (sensitive)
      + environment.MODE: "prod"
      - cap_add: ["NET_ADMIN"]
      ~ command:
          sh
          -c
          echo start
        + migrate
          exec serve
      because network.front is replaced
      ⚠ security: runs privileged

  # container.web[2] will be created
  + container.web[2] (demo-web-2)
      ! changed outside berth: container missing

  # container.web[3] will be destroyed
  - container.web[3] (demo-web-3)
      web scaled down to 2 replicas
      ! changed outside berth: container already removed

  # container.db[1] will be updated in place
  ~ container.db[1] (demo-db-1)
      ! changed outside berth: container exited (exit code 137)
      ! changed outside berth: restart: "always" -> "no"
      ~ mem_limit: "256m" -> "512m"

  # container.api[1] must be replaced
-/+ container.api[1] (demo-api-1)
      ! changed outside berth: container unhealthy (its healthcheck fails)
      ! changed outside berth: container recreated (state has aa11bb22cc33, engine has dd44ee55ff66)
      because network.back is created again

  # container.worker[1] will be updated in place
  ~ container.worker[1] (demo-worker-1)
      found on the engine with this project's labels (id c0ffee000001): adopted, not duplicated
      ! changed outside berth: container created but never started

  # container.worker[2] must be replaced
-/+ container.worker[2] (demo-worker-2)
      found on the engine with this project's labels (id c0ffee000002) but another spec: replaced

  # container.ghost[1] will be destroyed
  - container.ghost[1] (demo-ghost-1)
      labelled with this project, unknown to the state and the files (--remove-orphans)

Orphans (labelled with the project, unknown to state and files; delete with --remove-orphans):
  container demo-legacy-1 (beef00000001)
  network demo_legacy (beef00000002)

Plan: 2 to add, 3 to change, 6 to replace, 3 to destroy.
"##,
        );
    }

    #[test]
    fn colour_marks_the_symbols_and_changes_nothing_else() {
        let plain = text(&everything(), false);
        let coloured = text(&everything(), true);
        assert!(!plain.contains('\x1b'), "no escape codes without colour");
        for styled in [
            "\x1b[32m  +\x1b[0m network.back (demo_back)",
            "\x1b[35m-/+\x1b[0m network.front (demo_front)",
            "\x1b[31m  -\x1b[0m volume.old (demo_old)",
            "\x1b[33m  ~\x1b[0m container.db[1] (demo-db-1)",
            "\x1b[36m <=\x1b[0m network.shared (shared)",
            "\x1b[1m  # volume.old will be destroyed\x1b[0m \x1b[31m\x1b[1m(data loss)\x1b[0m",
            "      \x1b[33m\x1b[1m!\x1b[0m changed outside berth: container exited (exit code 137)",
            "        \x1b[32m+ EXPOSE 8080\x1b[0m",
            "      \x1b[31m\x1b[1m⚠ security:\x1b[0m runs privileged",
            "\x1b[1mPlan: 2 to add, 3 to change, 6 to replace, 3 to destroy.\x1b[0m",
        ] {
            assert!(coloured.contains(styled), "{styled:?} in\n{coloured}");
        }
        assert_text(&console::strip_ansi_codes(&coloured), &plain);
    }

    #[test]
    fn no_changes_is_one_line() {
        assert_text(
            &text(&unchanged(), false),
            "No changes. Docker matches the configuration.\n",
        );
        assert_eq!(
            text(&unchanged(), true),
            "\x1b[32m\x1b[1mNo changes. Docker matches the configuration.\x1b[0m\n"
        );
    }

    #[test]
    fn without_refresh_the_first_line_says_drift_is_not_shown() {
        let mut plan = unchanged();
        plan.refreshed = false;
        assert_text(
            &text(&plan, false),
            "(engine not observed: --refresh=false; drift is not shown)\n\n\
             No changes. Docker matches the configuration.\n",
        );
    }

    #[test]
    fn orphans_alone_are_listed_without_changes() {
        let mut plan = everything();
        plan.changes.retain(|c| c.action == Action::NoOp);
        plan.errors.clear();
        assert_text(
            &text(&plan, false),
            "Orphans (labelled with the project, unknown to state and files; delete with --remove-orphans):
  container demo-legacy-1 (beef00000001)
  network demo_legacy (beef00000002)

No changes. Docker matches the configuration.
",
        );
    }

    #[test]
    fn errors_are_left_to_the_cli() {
        let plan = everything();
        assert!(!text(&plan, false).contains(&plan.errors[0]));
    }

    #[test]
    fn multi_line_values_added_or_removed_whole() {
        let mut plan = unchanged();
        plan.changes = vec![change(
            "image.web",
            "demo-web",
            Action::Replace,
            vec![
                config(
                    "build.dockerfile_content",
                    None,
                    Some(json!("FROM scratch\nCOPY a /a\n")),
                ),
                config("labels.note", Some(json!("two\nlines")), None),
            ],
        )];
        assert_text(
            &text(&plan, false),
            "berth will perform the following actions:

  # image.web must be replaced
-/+ image.web (demo-web)
      + build.dockerfile_content:
        + FROM scratch
        + COPY a /a
      - labels.note:
        - two
        - lines

Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy.
",
        );
    }

    #[test]
    fn sensitive_values_stay_masked() {
        let plan = with_secret();
        let out = text(&plan, false);
        assert!(
            out.contains("      ~ environment.DB_PASSWORD: (sensitive) -> (sensitive)\n"),
            "{out}"
        );
        assert!(!out.contains("hunter2"));
    }
}
