//! The plan as a pull-request comment (GitHub-flavoured Markdown): a summary
//! table, warnings a reviewer must not miss (data loss, security), then one
//! collapsible `<details>` block per changed resource whose reasons sit in a
//! fenced `diff` block, so that GitHub colours them: `+` green, `-` red, `!`
//! orange, `#` grey. A changed attribute is therefore a `-` old line and a `+`
//! new line, where the terminal says `~ path: old -> new`.
//!
//! `docs/example-plan.md` shows the output; a test keeps it current.

use super::view::{
    DiffLine, LEFTOVERS, Line, NO_CHANGES, PlanView, ROLLOUTS, ResourceView, short_id, text_sign,
};
use crate::plan::{Plan, Reason};

/// The plan as Markdown, ending with a newline.
pub fn markdown(plan: &Plan) -> String {
    let view = PlanView::new(plan);
    let mut out = format!("### berth plan: {}\n\n", escape(&plan.project));
    if !plan.refreshed {
        out.push_str("_The engine was not observed (`--refresh=false`): drift is not shown._\n\n");
    }
    if !plan.errors.is_empty() {
        out.push_str("**This plan cannot be applied:**\n\n");
        for e in &plan.errors {
            out.push_str(&format!("- {}\n", one_line(e)));
        }
        out.push('\n');
    }
    if plan.has_changes() {
        let s = view.summary;
        out.push_str("| action | count |\n|---|---:|\n");
        for (what, n) in [
            ("add", s.add),
            ("change", s.change),
            ("replace", s.replace),
            ("destroy", s.destroy),
        ] {
            out.push_str(&format!("| {what} | {n} |\n"));
        }
        out.push('\n');
    }
    warnings(&mut out, &view);
    for r in &view.resources {
        resource(&mut out, r);
    }
    if !plan.orphans.is_empty() {
        out.push_str(
            "**Orphans** (labelled with the project, unknown to state and files; \
             delete with `--remove-orphans`):\n\n",
        );
        for o in &plan.orphans {
            out.push_str(&format!(
                "- {} `{}` (`{}`)\n",
                o.kind,
                o.name,
                short_id(&o.id)
            ));
        }
        out.push('\n');
    }
    if !plan.leftovers.is_empty() {
        out.push_str(&format!("**{LEFTOVERS}**\n\n"));
        for l in &plan.leftovers {
            out.push_str(&format!(
                "- `{}` `{}` (`{}`)\n",
                l.address,
                l.name,
                short_id(&l.id)
            ));
        }
        out.push('\n');
    }
    let rollouts = view.rollouts();
    if !rollouts.is_empty() {
        out.push_str(&format!("**{ROLLOUTS}**\n\n"));
        for r in rollouts {
            out.push_str(&format!("- `{r}`\n"));
        }
        out.push('\n');
    }
    let summary = view.summary_line();
    match summary.strip_prefix("No changes.") {
        Some(rest) if summary == NO_CHANGES => out.push_str(&format!("**No changes.**{rest}\n")),
        _ => out.push_str(&format!("**{summary}**\n")),
    }
    out
}

/// Data loss and security flags, above the details, where nobody misses them.
fn warnings(out: &mut String, view: &PlanView) {
    let mut lines = Vec::new();
    for r in &view.resources {
        let c = r.change;
        if c.data_loss {
            lines.push(format!(
                "> ⚠ **Data loss:** `{}` {}.",
                c.address,
                r.headline()
            ));
        }
        for s in &c.security {
            lines.push(format!("> ⚠ **Security:** `{}` {s}.", c.address));
        }
    }
    if !lines.is_empty() {
        out.push_str(&lines.join("\n>\n"));
        out.push_str("\n\n");
    }
}

fn resource(out: &mut String, r: &ResourceView) {
    let c = r.change;
    let loss = if c.data_loss { " (data loss)" } else { "" };
    out.push_str(&format!(
        "<details><summary><code>{}</code> {}{loss}</summary>\n\n",
        html(&c.address.to_string()),
        r.headline()
    ));
    let mut about = format!("Engine name `{}`", c.name);
    if let Some(id) = &c.id {
        about.push_str(&format!(", ID `{}`", short_id(id)));
    }
    if c.reasons.contains(&Reason::New) {
        about.push_str(" (new)");
    }
    out.push_str(&format!("{about}.\n\n"));
    let body: Vec<String> = r.lines.iter().flat_map(diff_lines).collect();
    if !body.is_empty() {
        let fence = fence(&body);
        out.push_str(&format!("{fence}diff\n"));
        for l in &body {
            out.push_str(l.trim_end());
            out.push('\n');
        }
        out.push_str(&format!("{fence}\n\n"));
    }
    out.push_str("</details>\n\n");
}

/// One reason as lines of a `diff` block.
fn diff_lines(line: &Line) -> Vec<String> {
    match line {
        Line::Attribute { path, old, new } => {
            let mut out = Vec::new();
            if let Some(old) = old {
                out.push(format!("- {path}: {old}"));
            }
            if let Some(new) = new {
                out.push(format!("+ {path}: {new}"));
            }
            if out.is_empty() {
                out.push(format!("# {path} changed"));
            }
            out
        }
        Line::TextDiff { path, drift, lines } => {
            let mut out = vec![if *drift {
                format!("! changed outside berth: {path}:")
            } else {
                match text_sign(lines) {
                    "+" => format!("# {path} (added):"),
                    "-" => format!("# {path} (removed):"),
                    _ => format!("# {path}:"),
                }
            }];
            out.extend(lines.iter().map(|l| match l {
                DiffLine::Same(s) => format!("    {s}"),
                DiffLine::Removed(s) => format!("-   {s}"),
                DiffLine::Added(s) => format!("+   {s}"),
                DiffLine::Skipped => "    ...".to_string(),
            }));
            out
        }
        Line::Drift(text) => vec![format!("! changed outside berth: {text}")],
        Line::Warning(text) => vec![format!("! {text}")],
        Line::Note(text) => vec![format!("# {text}")],
        Line::Security(text) => vec![format!("! ⚠ security: {text}")],
    }
}

/// A code fence longer than any run of backticks in the body.
fn fence(body: &[String]) -> String {
    let longest = body
        .iter()
        .map(|l| l.split(|c| c != '`').map(str::len).max().unwrap_or(0))
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Text for HTML (inside `<summary>`).
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text for Markdown outside code: characters that would start markup.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(
            ch,
            '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// An error message as one list item (continuation lines indented).
fn one_line(s: &str) -> String {
    s.trim_end().replace('\n', "\n  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::plan::sensitive::mask;
    use crate::render::fixtures::{assert_text, change, config, everything, example, unchanged};
    use crate::render::text;
    use serde_json::json;

    const DOC: &str = include_str!("../../docs/example-plan.md");

    /// The text between two lines of `doc`, both excluded.
    fn between<'d>(doc: &'d str, open: &str, close: &str) -> &'d str {
        let start = doc
            .find(&format!("{open}\n"))
            .unwrap_or_else(|| panic!("docs/example-plan.md has no line `{open}`"))
            + open.len()
            + 1;
        let len = doc[start..]
            .find(&format!("\n{close}\n"))
            .unwrap_or_else(|| panic!("docs/example-plan.md: `{open}` is not closed by `{close}`"));
        &doc[start..start + len + 1]
    }

    #[test]
    fn the_example_in_the_docs_is_what_the_renderers_print() {
        let plan = example();
        let md = markdown(&plan);
        let rendered = between(
            DOC,
            "<!-- example-plan:rendered -->",
            "<!-- /example-plan:rendered -->",
        );
        assert_text(rendered, &md);
        assert_text(between(DOC, "`````markdown", "`````"), &md);
        assert_text(between(DOC, "```text", "```"), &text(&plan, false));
    }

    #[test]
    fn every_action_and_every_reason() {
        assert_text(
            &markdown(&everything()),
            r##"### berth plan: demo

**This plan cannot be applied:**

- external network `shared` does not exist; create it first

| action | count |
|---|---:|
| add | 2 |
| change | 3 |
| replace | 6 |
| destroy | 3 |

> ⚠ **Data loss:** `volume.data` must be replaced.
>
> ⚠ **Data loss:** `volume.old` will be destroyed.
>
> ⚠ **Security:** `container.web[1]` runs privileged.

<details><summary><code>network.back</code> will be created</summary>

Engine name `demo_back` (new).

</details>

<details><summary><code>network.front</code> must be replaced</summary>

Engine name `demo_front`, ID `0f1e2d3c4b5a`.

```diff
- internal: false
+ internal: true
```

</details>

<details><summary><code>network.shared</code> is external and will be read</summary>

Engine name `shared`.

```diff
! external network `shared` does not exist on the engine; berth never creates it
```

</details>

<details><summary><code>volume.data</code> must be replaced (data loss)</summary>

Engine name `demo_data`.

```diff
- driver: "local"
+ driver: "nfs"
```

</details>

<details><summary><code>volume.old</code> will be destroyed (data loss)</summary>

Engine name `demo_old`.

```diff
# removed from the compose files
```

</details>

<details><summary><code>image.web</code> must be replaced</summary>

Engine name `demo-web`.

```diff
# build.dockerfile_content:
    FROM scratch
    COPY berth-demo /berth-demo
-   EXPOSE 5000
+   EXPOSE 8080
    ENTRYPOINT ["/berth-demo"]
+   CMD ["serve"]
! changed outside berth: image tag demo-web now points at abcdef123456 (recorded 1234567890ab)
```

</details>

<details><summary><code>image.redis</code> will be updated in place</summary>

Engine name `redis:7`.

```diff
# already on the engine (id 77aa88bb99cc): recorded in the state as it is
```

</details>

<details><summary><code>container.web[1]</code> must be replaced</summary>

Engine name `demo-web-1`, ID `1b2c3d4e5f60`.

```diff
- ports[0].published: "5000"
+ ports[0].published: "8080"
- environment.DB_PASSWORD: (sensitive)
+ environment.DB_PASSWORD: (sensitive)
+ environment.MODE: "prod"
- cap_add: ["NET_ADMIN"]
# command:
    sh
    -c
    echo start
+   migrate
    exec serve
# because network.front is replaced
! ⚠ security: runs privileged
```

</details>

<details><summary><code>container.web[2]</code> will be created</summary>

Engine name `demo-web-2`.

```diff
! changed outside berth: container missing
```

</details>

<details><summary><code>container.web[3]</code> will be destroyed</summary>

Engine name `demo-web-3`.

```diff
# web scaled down to 2 replicas
! changed outside berth: container already removed
```

</details>

<details><summary><code>container.db[1]</code> will be updated in place</summary>

Engine name `demo-db-1`.

```diff
! changed outside berth: container exited (exit code 137)
! changed outside berth: restart: "always" -> "no"
- mem_limit: "256m"
+ mem_limit: "512m"
```

</details>

<details><summary><code>container.api[1]</code> must be replaced</summary>

Engine name `demo-api-1`.

```diff
! changed outside berth: container unhealthy (its healthcheck fails)
! changed outside berth: container recreated (state has aa11bb22cc33, engine has dd44ee55ff66)
# because network.back is created again
```

</details>

<details><summary><code>container.worker[1]</code> will be updated in place</summary>

Engine name `demo-worker-1`.

```diff
# found on the engine with this project's labels (id c0ffee000001): adopted, not duplicated
! changed outside berth: container created but never started
```

</details>

<details><summary><code>container.worker[2]</code> must be replaced</summary>

Engine name `demo-worker-2`.

```diff
# found on the engine with this project's labels (id c0ffee000002) but another spec: replaced
```

</details>

<details><summary><code>container.ghost[1]</code> will be destroyed</summary>

Engine name `demo-ghost-1`.

```diff
# labelled with this project, unknown to the state and the files (--remove-orphans)
```

</details>

**Orphans** (labelled with the project, unknown to state and files; delete with `--remove-orphans`):

- container `demo-legacy-1` (`beef00000001`)
- network `demo_legacy` (`beef00000002`)

**Plan: 2 to add, 3 to change, 6 to replace, 3 to destroy.**
"##,
        );
    }

    #[test]
    fn no_changes() {
        assert_text(
            &markdown(&unchanged()),
            "### berth plan: demo\n\n**No changes.** Docker matches the configuration.\n",
        );
        let mut plan = unchanged();
        plan.refreshed = false;
        assert_text(
            &markdown(&plan),
            "### berth plan: demo

_The engine was not observed (`--refresh=false`): drift is not shown._

**No changes.** Docker matches the configuration.
",
        );
    }

    #[test]
    fn sensitive_values_stay_masked() {
        let mut plan = unchanged();
        let spec = json!({"environment": {"API_TOKEN": "s3cr3t"}});
        let mut c = change(
            "container.web[1]",
            "demo-web-1",
            Action::Update,
            vec![config(
                "environment.API_TOKEN",
                None,
                Some(json!("(sensitive)")),
            )],
        );
        c.after = Some(mask(&spec).into());
        plan.changes = vec![c];
        let out = markdown(&plan);
        assert!(
            out.contains("\n+ environment.API_TOKEN: (sensitive)\n"),
            "{out}"
        );
        assert!(!out.contains("s3cr3t"));
    }

    #[test]
    fn fences_outgrow_backticks_in_the_body() {
        assert_eq!(fence(&["plain".into()]), "```");
        assert_eq!(fence(&["RUN echo ````".into()]), "`````");
    }

    #[test]
    fn project_names_cannot_start_markup() {
        assert_eq!(escape("my_app"), "my\\_app");
        assert_eq!(html("a<b>&"), "a&lt;b&gt;&amp;");
    }
}
