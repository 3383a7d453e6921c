//! The loading pipeline as a whole: files, variables, names, profiles and errors.

use super::*;
use crate::compose::host::MemoryHost;
use std::fs;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

fn opts(dir: &Path) -> LoadOptions {
    LoadOptions {
        working_dir: dir.to_path_buf(),
        ..Default::default()
    }
}

fn errors(r: Result<Loaded, Diagnostics>) -> Vec<Diagnostic> {
    match r {
        Ok(_) => panic!("expected errors"),
        Err(d) => d.items,
    }
}

#[test]
fn files_are_found_upward_with_their_override() {
    let dir = dir_with(&[
        ("compose.yaml", "services: {web: {image: a}}\n"),
        ("compose.override.yaml", "services: {web: {image: b}}\n"),
        ("sub/deeper/.keep", ""),
    ]);
    let loaded = load(opts(&dir.path().join("sub/deeper"))).unwrap();
    assert_eq!(loaded.project.services["web"].image.as_deref(), Some("b"));
    assert_eq!(loaded.project.config_files.len(), 2);
    assert_eq!(loaded.project.working_dir, dir.path());
}

#[test]
fn pwd_defaults_to_the_working_directory_and_the_environment_wins() {
    let dir = dir_with(&[(
        "compose.yaml",
        "services: {web: {image: a, environment: {WHERE: \"${PWD}/data\"}}}\n",
    )]);
    let mut o = opts(dir.path());
    o.environ.insert("PATH".into(), "/bin".into());
    let here = format!("{}/data", dir.path().display());
    let p = load(o.clone()).unwrap().project;
    assert_eq!(
        p.services["web"].environment["WHERE"].as_deref(),
        Some(&*here)
    );
    o.environ.insert("PWD".into(), "/elsewhere".into());
    let p = load(o).unwrap().project;
    assert_eq!(
        p.services["web"].environment["WHERE"].as_deref(),
        Some("/elsewhere/data")
    );
}

#[test]
fn unknown_short_volume_options_are_ignored_with_a_warning() {
    // Zabbix's files write `roz` and `rwz`; Compose ignores options it does not know
    let dir = dir_with(&[(
        "compose.yaml",
        "services: {web: {image: a, volumes: [\"snmp:/traps:roz\", \"./h:/h:ro,rx\"]}}\n\
         volumes: {snmp: {}}\n",
    )]);
    let loaded = load(opts(dir.path())).unwrap();
    let volumes = &loaded.project.services["web"].volumes;
    assert!(!volumes[0].read_only, "`roz` is not `ro`");
    assert!(volumes[1].read_only);
    let warned = |option: &str| {
        loaded
            .warnings
            .iter()
            .any(|w| w.contains(&format!("option `{option}` is unknown and ignored")))
    };
    assert!(warned("roz") && warned("rx"), "{:?}", loaded.warnings);
}

#[test]
fn an_absolute_build_context_is_kept_as_written() {
    let dir = dir_with(&[(
        "compose.yaml",
        "services:\n  a: {build: /srv/app/}\n  b: {build: {context: ./app/}}\n",
    )]);
    let p = load(opts(dir.path())).unwrap().project;
    let context = |s: &str| p.services[s].build.as_ref().unwrap().context.clone();
    assert_eq!(context("a"), "/srv/app/");
    assert_eq!(context("b"), format!("{}/app", dir.path().display()));
}

#[test]
fn no_file_is_a_clear_error() {
    let dir = dir_with(&[]);
    let e = errors(load(opts(dir.path())));
    assert!(e[0].message.starts_with("no configuration file provided"));
    assert!(e[0].hint.as_deref().unwrap().contains("-f FILE"));
}

#[test]
fn the_shell_wins_over_the_working_directorys_dotenv_which_wins_over_the_projects() {
    let dir = dir_with(&[
        (".env", "COMPOSE_FILE=app/compose.yaml\nA=top\nB=top\n"),
        ("app/.env", "A=app\nB=app\nC=app\n"),
        (
            "app/compose.yaml",
            "services: {web: {image: a, environment: [A=$A, B=$B, C=$C]}}\n",
        ),
    ]);
    let mut o = opts(dir.path());
    o.environ.insert("A".into(), "shell".into());
    let web = &load(o).unwrap().project.services["web"];
    let env = |k: &str| web.environment[k].as_deref();
    assert_eq!(
        (env("A"), env("B"), env("C")),
        (Some("shell"), Some("top"), Some("app"))
    );
}

#[test]
fn compose_file_lists_files_with_the_path_separator() {
    let dir = dir_with(&[
        ("a.yaml", "services: {web: {image: a}}\n"),
        ("b.yaml", "services: {web: {user: u}}\n"),
    ]);
    let mut o = opts(dir.path());
    o.environ
        .insert("COMPOSE_FILE".into(), "a.yaml;b.yaml".into());
    o.environ
        .insert("COMPOSE_PATH_SEPARATOR".into(), ";".into());
    let p = load(o).unwrap().project;
    assert_eq!(p.services["web"].user.as_deref(), Some("u"));
}

#[test]
fn project_name_comes_from_flag_env_key_then_directory() {
    let dir = dir_with(&[(
        "My App/compose.yaml",
        "name: keyname\nservices: {web: {image: a}}\n",
    )]);
    let base = opts(&dir.path().join("My App"));
    assert_eq!(load(base.clone()).unwrap().project.name, "keyname");
    let mut env = base.clone();
    env.environ
        .insert("COMPOSE_PROJECT_NAME".into(), "fromenv".into());
    assert_eq!(load(env.clone()).unwrap().project.name, "fromenv");
    let mut flag = env;
    flag.project_name = Some("fromflag".into());
    assert_eq!(load(flag).unwrap().project.name, "fromflag");

    let nameless = dir_with(&[("My App/compose.yaml", "services: {web: {image: a}}\n")]);
    let p = load(opts(&nameless.path().join("My App"))).unwrap().project;
    assert_eq!(p.name, "myapp");
    assert_eq!(p.networks["default"].name, "myapp_default");
}

#[test]
fn an_invalid_explicit_project_name_is_rejected() {
    let dir = dir_with(&[("compose.yaml", "services: {web: {image: a}}\n")]);
    let mut o = opts(dir.path());
    o.project_name = Some("My_Project!".into());
    let e = errors(load(o));
    assert!(e[0].message.contains("invalid project name `My_Project!`"));
    assert!(e[0].hint.as_deref().unwrap().contains("lowercase"));
}

#[test]
fn the_shell_wins_over_dotenv_and_env_file_replaces_dotenv() {
    let dir = dir_with(&[
        (
            "compose.yaml",
            "services: {web: {image: \"a:${TAG}\", user: \"${WHO:-nobody}\"}}\n",
        ),
        (".env", "TAG=dotenv\nWHO=dotenv-user\n"),
        ("other.env", "TAG=other\n"),
    ]);
    let mut o = opts(dir.path());
    assert_eq!(
        load(o.clone()).unwrap().project.services["web"]
            .image
            .as_deref(),
        Some("a:dotenv")
    );
    o.environ.insert("TAG".into(), "shell".into());
    assert_eq!(
        load(o.clone()).unwrap().project.services["web"]
            .image
            .as_deref(),
        Some("a:shell")
    );
    o.environ.clear();
    o.env_files = vec!["other.env".into()];
    let web = &load(o).unwrap().project.services["web"];
    assert_eq!(web.image.as_deref(), Some("a:other"));
    assert_eq!(
        web.user.as_deref(),
        Some("nobody"),
        ".env is not read when --env-file is given"
    );
}

#[test]
fn profiles_select_services() {
    let yaml = "services:\n  web: {image: a}\n  debug: {image: b, profiles: [dev]}\n";
    let dir = dir_with(&[("compose.yaml", yaml)]);
    let mut o = opts(dir.path());
    let p = load(o.clone()).unwrap().project;
    assert!(!p.services.contains_key("debug"));
    assert_eq!(p.disabled_services, vec!["debug"]);
    o.environ.insert("COMPOSE_PROFILES".into(), "dev".into());
    assert!(
        load(o.clone())
            .unwrap()
            .project
            .services
            .contains_key("debug")
    );
    o.environ.clear();
    o.services = vec!["debug".into()];
    assert!(load(o).unwrap().project.services.contains_key("debug"));
}

#[test]
fn errors_point_into_the_file_that_wrote_the_value() {
    let dir = dir_with(&[
        ("compose.yaml", "services:\n  web:\n    image: a\n"),
        ("prod.yaml", "services:\n  web:\n    ports: [\"80:abc\"]\n"),
    ]);
    let mut o = opts(dir.path());
    o.files = vec!["compose.yaml".into(), "prod.yaml".into()];
    let d = load(o).unwrap_err();
    assert_eq!(d.items.len(), 1);
    assert_eq!(d.items[0].path, "services.web.ports[0]");
    assert_eq!(d.items[0].location(&d.sources).unwrap(), "prod.yaml:3:13");
}

#[test]
fn every_error_of_a_file_is_reported() {
    let yaml = "services:\n  web:\n    imgae: a\n    ports: [\"x\"]\n    depends_on: [db]\n";
    let dir = dir_with(&[("compose.yaml", yaml)]);
    let e = errors(load(opts(dir.path())));
    let messages: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
    assert!(messages.contains(&"unknown key `imgae`"), "{messages:?}");
    assert!(
        messages.iter().any(|m| m.starts_with("invalid port `x`")),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"depends on undefined service `db`"),
        "{messages:?}"
    );
    // the misspelt `image` leaves the service without one: no follow-on error for that
    assert!(
        !messages.contains(&"has neither an image nor a build context"),
        "{messages:?}"
    );
    assert_eq!(e.len(), 3, "{messages:?}");
    let typo = e
        .iter()
        .find(|d| d.message == "unknown key `imgae`")
        .unwrap();
    assert_eq!(typo.hint.as_deref(), Some("did you mean `image`?"));
}

#[test]
fn extends_cycles_are_named() {
    let yaml = "services:\n  a: {extends: b, image: x}\n  b: {extends: a}\n";
    let dir = dir_with(&[("compose.yaml", yaml)]);
    let e = errors(load(opts(dir.path())));
    assert!(
        e.iter().any(|d| d.message == "extends cycle: a -> b -> a"),
        "{e:?}"
    );
}

#[test]
fn depends_on_cycles_are_named() {
    let yaml = "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}\n";
    let dir = dir_with(&[("compose.yaml", yaml)]);
    let e = errors(load(opts(dir.path())));
    assert!(
        e.iter()
            .any(|d| d.message == "dependency cycle: a -> b -> c -> a"),
        "{e:?}"
    );
}

#[test]
fn extends_from_another_file_resolves_its_paths_there() {
    let dir = dir_with(&[
        (
            "compose.yaml",
            "services:\n  web:\n    extends: {file: base/common.yaml, service: app}\n    image: a\n",
        ),
        (
            "base/common.yaml",
            "services:\n  app:\n    volumes: [\"./data:/data\"]\n    env_file: app.env\n",
        ),
        ("base/app.env", "FROM_BASE=1\n"),
    ]);
    let web = &load(opts(dir.path())).unwrap().project.services["web"];
    let base = dir.path().join("base");
    assert_eq!(
        web.volumes[0].source.as_deref(),
        Some(base.join("data").to_str().unwrap())
    );
    assert_eq!(web.environment["FROM_BASE"].as_deref(), Some("1"));
}

#[test]
fn version_is_accepted_with_compose_s_warning() {
    let dir = dir_with(&[(
        "compose.yaml",
        "version: \"3.9\"\nservices: {web: {image: a}}\n",
    )]);
    let w = load(opts(dir.path())).unwrap().warnings;
    assert!(w[0].ends_with("the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"));
}

/// Options for a project in `dir` of an in-memory host.
fn in_memory(dir: &str) -> LoadOptions {
    LoadOptions {
        working_dir: dir.into(),
        ..Default::default()
    }
}

#[test]
fn a_project_loads_from_an_in_memory_file_tree_and_environment() {
    let host = MemoryHost::default()
        .file(
            "/srv/app/compose.yaml",
            "services:\n  web:\n    image: \"web:${TAG}\"\n    env_file: web.env\n    volumes: [\"~/data:/data\", \"./conf:/conf\"]\n",
        )
        .file("/srv/app/.env", "TAG=from-dotenv\nWHO=dotenv\n")
        .file("/srv/app/web.env", "GREETING=hello ${WHO}\n")
        .var("HOME", "/home/ann");
    let mut o = in_memory("/srv/app");
    o.environ.insert("WHO".into(), "shell".into());
    let loaded = load_from(&host, o).unwrap();
    let web = &loaded.project.services["web"];
    assert_eq!(web.image.as_deref(), Some("web:from-dotenv"));
    assert_eq!(web.environment["GREETING"].as_deref(), Some("hello shell"));
    let sources: Vec<_> = web.volumes.iter().map(|m| m.source.as_deref()).collect();
    assert_eq!(sources, [Some("/home/ann/data"), Some("/srv/app/conf")]);
    assert_eq!(loaded.project.working_dir, Path::new("/srv/app"));
    assert!(loaded.inputs.contains(&PathBuf::from("/srv/app/.env")));
}

#[test]
fn an_included_projects_unreadable_env_file_is_reported_where_it_is_named() {
    let host = MemoryHost::default()
        .file(
            "/p/compose.yaml",
            "include:\n  - path: lib/compose.yaml\n    env_file: lib/missing.env\nservices: {web: {image: a}}\n",
        )
        .file("/p/lib/compose.yaml", "services: {db: {image: b}}\n");
    let d = load_from(&host, in_memory("/p")).unwrap_err();
    assert_eq!(d.items.len(), 1, "{:?}", d.items);
    let e = &d.items[0];
    assert!(
        e.message
            .starts_with("env file `/p/lib/missing.env` cannot be read"),
        "{}",
        e.message
    );
    assert_eq!(e.path, "include[0]");
    assert_eq!(e.location(&d.sources).unwrap(), "compose.yaml:3:15");
}

#[test]
fn an_included_projects_invalid_dotenv_is_reported_at_its_line() {
    let host = MemoryHost::default()
        .file(
            "/p/compose.yaml",
            "include: [lib/compose.yaml]\nservices: {web: {image: a}}\n",
        )
        .file(
            "/p/lib/compose.yaml",
            "services: {db: {image: \"b:${TAG}\"}}\n",
        )
        .file("/p/lib/.env", "TAG=1\nnot a variable\n");
    let d = load_from(&host, in_memory("/p")).unwrap_err();
    assert_eq!(d.items.len(), 1, "{:?}", d.items);
    assert!(d.items[0].message.starts_with("invalid env file"));
    let at = d.items[0].location(&d.sources).unwrap();
    assert!(at.starts_with("/p/lib/.env:2:"), "{at}");
}

#[test]
fn an_included_projects_env_file_sets_its_variables_but_not_over_the_shell() {
    let host = MemoryHost::default()
        .file(
            "/p/compose.yaml",
            "include:\n  - path: lib/compose.yaml\n    env_file: lib/lib.env\nservices: {web: {image: \"a:${TAG}\"}}\n",
        )
        .file("/p/.env", "TAG=project\n")
        .file(
            "/p/lib/compose.yaml",
            "services: {db: {image: \"b:${TAG}\", user: \"${WHO}\"}}\n",
        )
        .file("/p/lib/lib.env", "TAG=lib\nWHO=lib\n");
    let mut o = in_memory("/p");
    o.environ.insert("WHO".into(), "shell".into());
    let p = load_from(&host, o).unwrap().project;
    assert_eq!(p.services["web"].image.as_deref(), Some("a:project"));
    assert_eq!(p.services["db"].image.as_deref(), Some("b:lib"));
    assert_eq!(p.services["db"].user.as_deref(), Some("shell"));
}

#[test]
fn a_service_env_file_missing_in_an_included_project_is_reported_in_its_file() {
    let host = MemoryHost::default()
        .file(
            "/p/compose.yaml",
            "include: [lib/compose.yaml]\nservices: {web: {image: a}}\n",
        )
        .file(
            "/p/lib/compose.yaml",
            "services:\n  db:\n    image: b\n    env_file: db.env\n",
        );
    let d = load_from(&host, in_memory("/p")).unwrap_err();
    assert_eq!(d.items.len(), 1, "{:?}", d.items);
    assert!(
        d.items[0]
            .message
            .starts_with("env file `/p/lib/db.env` cannot be read")
    );
    assert_eq!(
        d.items[0].location(&d.sources).unwrap(),
        "lib/compose.yaml:4:15"
    );
}

/// `.env`, `compose.yaml` or an `env_file` whose line 3 has two bytes that are
/// not UTF-8 (`\xff\xfe`) after four characters.
fn not_utf8_in(dir: &Path, name: &str) {
    fs::write(dir.join(name), b"A=1\nB=2\n  \xc3\xa9x\xff\xfe=3\n").unwrap();
}

fn only_error(r: Result<Loaded, Diagnostics>) -> (Diagnostic, String, String) {
    let Err(d) = r else {
        panic!("expected an error")
    };
    assert_eq!(d.items.len(), 1, "{}", d.render(false));
    let one = d.items[0].clone();
    let at = one.location(&d.sources).unwrap();
    (one, at, d.render(false))
}

#[test]
fn a_compose_file_that_is_not_utf8_is_reported_at_its_first_invalid_byte() {
    let dir = dir_with(&[]);
    fs::write(
        dir.path().join("compose.yaml"),
        b"services:\n  web:\n    \xff\xfeimage: a\n",
    )
    .unwrap();
    let (d, at, rendered) = only_error(load(opts(dir.path())));
    assert_eq!(at, "compose.yaml:3:5");
    assert_eq!(
        d.message,
        "compose file is not valid UTF-8: byte 0xff at line 3, column 5"
    );
    assert_eq!(d.hint.as_deref(), Some("save the file as UTF-8"));
    // the line is quoted with the bad bytes as U+FFFD, the caret under the first
    assert!(
        rendered.contains("3 |     \u{fffd}\u{fffd}image: a\n  |     ^\n"),
        "{rendered}"
    );
}

#[test]
fn a_dot_env_that_is_not_utf8_is_reported_not_skipped() {
    let dir = dir_with(&[("compose.yaml", "services: {web: {image: a}}\n")]);
    not_utf8_in(dir.path(), ".env");
    let (d, at, _) = only_error(load(opts(dir.path())));
    assert_eq!(at, format!("{}:3:5", dir.path().join(".env").display()));
    assert_eq!(
        d.message,
        "env file is not valid UTF-8: byte 0xff at line 3, column 5"
    );
}

#[test]
fn an_env_file_that_is_not_utf8_is_reported_even_when_optional() {
    let dir = dir_with(&[(
        "compose.yaml",
        "services:\n  web:\n    image: a\n    env_file: [{path: app.env, required: false}]\n",
    )]);
    not_utf8_in(dir.path(), "app.env");
    let (d, at, _) = only_error(load(opts(dir.path())));
    assert_eq!(at, "app.env:3:5");
    assert_eq!(d.path, "services.web.env_file[0]");
    assert_eq!(
        d.message,
        "env file is not valid UTF-8: byte 0xff at line 3, column 5"
    );
}

/// A large project: services are decoded on several threads (when the
/// machine has them), and what is reported reads as from one thread, in the
/// order of the file.
fn many_services(n: usize, special: &[(usize, &str)]) -> String {
    let mut yaml = String::from("services:\n");
    for i in 0..n {
        let extra = special
            .iter()
            .find(|(at, _)| *at == i)
            .map_or("", |(_, s)| *s);
        yaml.push_str(&format!("  s{i:05}: {{image: a{extra}}}\n"));
    }
    yaml
}

#[test]
fn a_large_projects_errors_and_warnings_come_in_file_order() {
    let n = 3_000;
    let yaml = many_services(
        n,
        &[
            (7, ", volumes: [\"./a:/a:roz\"]"),
            (10, ", bogus_a: 1"),
            (2_990, ", volumes: [\"./b:/b:rwz\"]"),
            (2_995, ", bogus_b: 1"),
        ],
    );
    let dir = dir_with(&[("compose.yaml", &yaml)]);
    let messages: Vec<String> = errors(load(opts(dir.path())))
        .iter()
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect();
    let at = |needle: &str| {
        messages
            .iter()
            .position(|m| m.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {messages:?}"))
    };
    assert!(at("bogus_a") < at("bogus_b"), "{messages:?}");
    // the same file without its errors: the warnings, in order
    let yaml = many_services(
        n,
        &[
            (7, ", volumes: [\"./a:/a:roz\"]"),
            (2_990, ", volumes: [\"./b:/b:rwz\"]"),
        ],
    );
    let dir = dir_with(&[("compose.yaml", &yaml)]);
    let loaded = load(opts(dir.path())).unwrap();
    assert_eq!(loaded.project.services.len(), n);
    let warned: Vec<&String> = loaded
        .warnings
        .iter()
        .filter(|w| w.contains("unknown and ignored"))
        .collect();
    assert_eq!(warned.len(), 2, "{:?}", loaded.warnings);
    assert!(
        warned[0].contains("roz") && warned[1].contains("rwz"),
        "{warned:?}"
    );
}

#[test]
fn a_large_project_reading_env_files_keeps_their_values_and_positions() {
    let yaml = many_services(1_000, &[(900, ", env_file: [vars.env]")]);
    let dir = dir_with(&[("compose.yaml", &yaml), ("vars.env", "FROM_FILE=yes\n")]);
    let loaded = load(opts(dir.path())).unwrap();
    assert_eq!(
        loaded.project.services["s00900"].environment["FROM_FILE"].as_deref(),
        Some("yes")
    );
    // a bad line in it is reported in the env file, not elsewhere
    let dir = dir_with(&[("compose.yaml", &yaml), ("vars.env", "not a line\n")]);
    let Err(shown) = load(opts(dir.path())) else {
        panic!("a bad env file line is an error");
    };
    assert!(shown.to_string().contains("vars.env:1"), "{shown}");
}
