//! `.dockerignore` as `docker build` applies it, checked against the real
//! thing: for each pattern set a context tree is built with the docker CLI's
//! classic builder (`DOCKER_BUILDKIT=0 docker build`, `FROM scratch` and
//! `COPY . /ctx/`), and the files of that image (`docker create` + `docker
//! export`) must be exactly
//!
//! 1. berth's list of the context's entries (what its hash covers and its tar
//!    carries), less what the engine's builder drops (the Dockerfile and
//!    `.dockerignore` when `.dockerignore` names them), and
//! 2. the files of the image berth builds from the same context through the
//!    engine API, with the same types, modes, sizes and link targets.
//!
//! Then editing a file Docker copies must change berth's context hash, and
//! editing one it leaves out must not.
//!
//! Images and containers are named `ign-<pid>-...` and removed when done,
//! also when a check fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth::engine::Engine;
use berth::engine::ops::image;
use berth::resource::context::{context_files, context_hash};
use berth::resource::dockerignore::{PatternMatcher, read_patterns};
use berth::resource::spec::BuildSpec;

use crate::common::engine::{engine_slot, try_docker};

const DOCKERFILE: &str = "FROM scratch\nCOPY . /ctx/\n";

/// Which Dockerfile the build reads, and how it is handed to `docker build`.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// `-f <context>/<path>`: a file inside the context
    Context(&'static str),
    /// `-f -`: text on stdin (berth: `dockerfile_inline`)
    Stdin,
    /// `-f` a file beside the context, outside it
    Outside,
}

struct Case {
    name: &'static str,
    /// `.dockerignore`'s text; `None`: there is no `.dockerignore`
    dockerignore: Option<&'static str>,
    via: Via,
}

const ROOT: Via = Via::Context("Dockerfile");

const CASES: &[Case] = &[
    Case {
        name: "star-is-anchored",
        dockerignore: Some("*.log\n"),
        via: ROOT,
    },
    Case {
        name: "double-star",
        dockerignore: Some("**/*.log\n"),
        via: ROOT,
    },
    Case {
        name: "one-level",
        dockerignore: Some("*/*.log\n*/f\n"),
        via: ROOT,
    },
    Case {
        name: "exception",
        dockerignore: Some("*.md\n!README.md\n"),
        via: ROOT,
    },
    Case {
        name: "dir-exception",
        dockerignore: Some("build\n!build/keep\n"),
        via: ROOT,
    },
    Case {
        name: "dir-exception-not-prefix",
        dockerignore: Some("build\n!**/keep\n"),
        via: ROOT,
    },
    Case {
        name: "all-but-src",
        dockerignore: Some("*\n!src\nsrc/*.tmp\n"),
        via: ROOT,
    },
    Case {
        name: "all-but-src-deep",
        dockerignore: Some("*\n!src/**\n"),
        via: ROOT,
    },
    Case {
        name: "node-modules",
        dockerignore: Some("node_modules\n**/node_modules/x\n"),
        via: ROOT,
    },
    Case {
        name: "cleaning",
        dockerignore: Some("/src/gen\n./docs//api/\nsub/deep/../a.log\n"),
        via: ROOT,
    },
    Case {
        name: "classes-escapes",
        dockerignore: Some("[a-b]*.txt\n\\*star\n?.txt\n[!a]bang\n"),
        via: ROOT,
    },
    Case {
        name: "comments-and-spaces",
        dockerignore: Some("# *.md\n  \n   *.md   \n !  CHANGES.md\n  #x\n"),
        via: ROOT,
    },
    Case {
        name: "literal-regex-chars",
        dockerignore: Some("a+b\nd.txt\n"),
        via: ROOT,
    },
    Case {
        name: "suffix-shortcut",
        dockerignore: Some("**foo\n"),
        via: ROOT,
    },
    Case {
        name: "exception-above-is-not-seen",
        dockerignore: Some("*/f\n!d\n"),
        via: ROOT,
    },
    Case {
        name: "exception-glob-never-enters",
        dockerignore: Some("*\n!**/*.rs\n"),
        via: ROOT,
    },
    Case {
        name: "trailing-double-star",
        dockerignore: Some("docs/**\nsrc**\n"),
        via: ROOT,
    },
    Case {
        name: "ignored-build-files",
        dockerignore: Some("Dockerfile\n.dockerignore\nbin\n"),
        via: ROOT,
    },
    Case {
        name: "ignored-dockerfile-dir",
        dockerignore: Some("docker\nempty\n"),
        via: Via::Context("docker/Dockerfile"),
    },
    Case {
        name: "stdin-no-dockerignore",
        dockerignore: None,
        via: Via::Stdin,
    },
    Case {
        name: "stdin-with-patterns",
        dockerignore: Some("*.md\nsrc\n!src/main.rs\n"),
        via: Via::Stdin,
    },
    Case {
        name: "outside-context",
        dockerignore: Some("**/*.log\n.dockerignore\n"),
        via: Via::Outside,
    },
];

/// Removes the named images and containers when dropped.
#[derive(Default)]
struct Names {
    images: Vec<String>,
    containers: Vec<String>,
}

impl Drop for Names {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = try_docker(&["rm", "-f", c]);
        }
        for i in &self.images {
            if let Err(e) = try_docker(&["rmi", "-f", i])
                && !e.contains("No such image")
            {
                eprintln!("cleanup of image `{i}`: {e}");
            }
        }
    }
}

/// The context tree every case starts from (in `root/ctx`; `root` also
/// holds the Dockerfile used from outside the context).
fn context_tree(root: &Path, dockerignore: Option<&str>) -> PathBuf {
    let ctx = root.join("ctx");
    let files = [
        "a.log",
        "sub/a.log",
        "sub/deep/b.log",
        "README.md",
        "CHANGES.md",
        "docs/guide.md",
        "docs/api/ref.md",
        "src/main.rs",
        "src/a.tmp",
        "src/gen/out.tmp",
        "build/out.o",
        "build/keep/me.txt",
        "node_modules/left-pad/index.js",
        "web/node_modules/x/index.js",
        "abc.txt",
        "b.txt",
        "d.txt",
        "d/f",
        "x/f",
        "barfoo",
        "x/foo",
        "*star",
        "a+b",
        "aab",
        "!bang",
        "bin/run",
    ];
    for rel in files {
        let path = ctx.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("{rel}\n")).unwrap();
    }
    fs::write(ctx.join("Dockerfile"), DOCKERFILE).unwrap();
    fs::create_dir_all(ctx.join("docker")).unwrap();
    fs::write(ctx.join("docker/Dockerfile"), DOCKERFILE).unwrap();
    fs::write(root.join("Dockerfile.outside"), DOCKERFILE).unwrap();
    fs::set_permissions(ctx.join("bin/run"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(ctx.join("docs"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::create_dir(ctx.join("empty")).unwrap();
    symlink("README.md", ctx.join("link")).unwrap();
    if let Some(text) = dockerignore {
        fs::write(ctx.join(".dockerignore"), text).unwrap();
    }
    ctx
}

/// One entry of an image's `/ctx`: its path below `/ctx` and what
/// `tar -tv` shows of it but the time (type, mode, owner, size, link target).
type Listing = BTreeMap<String, String>;

/// The files under `/ctx` of `image`, from `docker create` + `docker export`.
fn image_listing(image: &str, names: &mut Names) -> Listing {
    let container = format!("{image}-c");
    names.containers.push(container.clone());
    try_docker(&["create", "--name", &container, image, "/none"])
        .unwrap_or_else(|e| panic!("docker create {image}: {e}"));
    let out = Command::new("docker")
        .args(["export", &container])
        .output()
        .expect("the docker CLI runs");
    assert!(
        out.status.success(),
        "docker export {container}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = try_docker(&["rm", "-f", &container]);
    let mut listing = Listing::new();
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    for entry in archive.entries().expect("an export is a tar") {
        let entry = entry.expect("a tar entry");
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let Some(rel) = path.strip_prefix("ctx/") else {
            continue;
        };
        let rel = rel.trim_end_matches('/');
        if rel.is_empty() {
            continue;
        }
        let h = entry.header();
        let link = entry
            .link_name()
            .unwrap()
            .map(|l| format!(" -> {}", l.display()))
            .unwrap_or_default();
        listing.insert(
            rel.to_string(),
            format!(
                "{:?} {:o} {}:{} {}{link}",
                h.entry_type(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.size().unwrap()
            ),
        );
    }
    listing
}

/// `DOCKER_BUILDKIT=0 docker build` of the case; the tag.
fn docker_build(case: &Case, root: &Path, ctx: &Path, tag: &str) {
    let mut cmd = Command::new("docker");
    cmd.env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", tag, "-f"]);
    let stdin = match case.via {
        Via::Context(rel) => {
            cmd.arg(ctx.join(rel));
            Stdio::null()
        }
        Via::Stdin => {
            cmd.arg("-");
            Stdio::from(fs::File::open(root.join("Dockerfile.outside")).unwrap())
        }
        Via::Outside => {
            cmd.arg(root.join("Dockerfile.outside"));
            Stdio::null()
        }
    };
    let out = cmd
        .arg(ctx)
        .stdin(stdin)
        .output()
        .expect("the docker CLI runs");
    assert!(
        out.status.success(),
        "{}: docker build failed: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same build through berth's engine operation.
fn berth_build(case: &Case, ctx: &Path, tag: &str) {
    let (dockerfile, dockerfile_content) = match case.via {
        Via::Context(rel) => (Some(rel), None),
        Via::Stdin => (None, Some(DOCKERFILE.to_string())),
        Via::Outside => (Some("../Dockerfile.outside"), None),
    };
    let spec = BuildSpec {
        context: ctx.to_string_lossy().into_owned(),
        context_hash: String::new(),
        dockerfile: dockerfile.map(str::to_string),
        dockerfile_content,
        args: BTreeMap::new(),
        target: None,
        labels: BTreeMap::new(),
        network: None,
    };
    let runtime = berth::engine::runtime().expect("a tokio runtime");
    runtime.block_on(async {
        let engine = Engine::connect(&Default::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        image::build(&engine, tag, &spec, &BTreeMap::new(), &[], |_| {})
            .await
            .unwrap_or_else(|e| panic!("{}: berth's build failed: {e}", case.name));
    });
}

/// The Dockerfile inside the context that the case reads.
fn in_context(case: &Case) -> Option<&'static str> {
    match case.via {
        Via::Context(rel) => Some(rel),
        Via::Stdin | Via::Outside => None,
    }
}

/// What `COPY . /ctx/` gets from berth's list of the context: every entry
/// and the directories above it, less the Dockerfile and `.dockerignore` when
/// the builder drops them (it reads the `.dockerignore` it is sent: for a
/// generated Dockerfile the CLI's, which names itself when there was none).
fn predicted(case: &Case, ctx: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in context_files(ctx, in_context(case), &[]).unwrap() {
        let mut dir = entry.name.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            names.insert(parent.to_string());
            dir = parent;
        }
        names.insert(entry.name);
    }
    let mut sent = case.dockerignore.map(read_patterns).unwrap_or_default();
    if case.dockerignore.is_none() && in_context(case).is_none() {
        sent.push(".dockerignore".into());
    }
    let builder = PatternMatcher::new(&sent).unwrap();
    for file in [Some(".dockerignore"), in_context(case)]
        .into_iter()
        .flatten()
    {
        if builder.matches(file) {
            names.remove(file);
        }
    }
    names
}

fn append(path: &Path) {
    let mut text = fs::read(path).unwrap();
    text.extend_from_slice(b"edited\n");
    fs::write(path, text).unwrap();
}

#[test]
fn berth_sends_what_docker_build_sends() {
    let pattern_sets = CASES.iter().filter(|c| c.dockerignore.is_some()).count();
    assert!(pattern_sets >= 15, "{pattern_sets} pattern sets");
    let _slot = engine_slot();
    let mut names = Names::default();
    let mut wrong = Vec::new();
    let mut hash_checks = 0;
    for (n, case) in CASES.iter().enumerate() {
        let root = tempfile::tempdir().unwrap();
        let ctx = context_tree(root.path(), case.dockerignore);
        let tag = format!("ign-{}-{n}", std::process::id());
        let (docker_tag, berth_tag) = (format!("{tag}-docker"), format!("{tag}-berth"));
        names.images.push(docker_tag.clone());
        names.images.push(berth_tag.clone());

        docker_build(case, root.path(), &ctx, &docker_tag);
        let docker = image_listing(&docker_tag, &mut names);
        let docker_names: BTreeSet<String> = docker.keys().cloned().collect();
        let ours = predicted(case, &ctx);
        if ours != docker_names {
            wrong.push(format!(
                "{} ({:?}): berth's context list differs from docker build's image\n  \
                 only berth: {:?}\n  only docker: {:?}",
                case.name,
                case.dockerignore,
                ours.difference(&docker_names).collect::<Vec<_>>(),
                docker_names.difference(&ours).collect::<Vec<_>>()
            ));
        }

        berth_build(case, &ctx, &berth_tag);
        let built = image_listing(&berth_tag, &mut names);
        if built != docker {
            let differ: Vec<String> = docker
                .keys()
                .chain(built.keys())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|k| docker.get(*k) != built.get(*k))
                .map(|k| format!("{k}: docker {:?}, berth {:?}", docker.get(k), built.get(k)))
                .collect();
            wrong.push(format!(
                "{}: berth's image differs from docker build's\n  {}",
                case.name,
                differ.join("\n  ")
            ));
        }

        // the hash follows exactly the files Docker copies
        let build_files = [".dockerignore", "Dockerfile", "docker/Dockerfile"];
        let is_file = |rel: &&str| ctx.join(rel).is_file() && !build_files.contains(rel);
        let copied = docker.keys().map(String::as_str).find(|rel| is_file(rel));
        let all: Vec<String> = context_tree_files(&ctx);
        let left_out = all
            .iter()
            .map(String::as_str)
            .find(|rel| is_file(rel) && !docker.contains_key(*rel));
        let hash = || context_hash(&ctx, in_context(case), &[]).unwrap();
        let before = hash();
        if let Some(rel) = left_out {
            append(&ctx.join(rel));
            hash_checks += 1;
            if hash() != before {
                wrong.push(format!(
                    "{}: editing left-out `{rel}` changed the hash",
                    case.name
                ));
            }
        }
        if let Some(rel) = copied {
            append(&ctx.join(rel));
            hash_checks += 1;
            if hash() == before {
                wrong.push(format!(
                    "{}: editing copied `{rel}` kept the hash",
                    case.name
                ));
            }
        }
        let _ = try_docker(&["rmi", "-f", &docker_tag, &berth_tag]);
        eprintln!(
            "{}: {} entries in docker build's /ctx",
            case.name,
            docker.len()
        );
    }
    assert!(
        hash_checks >= CASES.len() * 3 / 2,
        "{hash_checks} hash checks"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// Every file of the tree, relative and slash-separated, sorted.
fn context_tree_files(ctx: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![ctx.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                todo.push(entry.path());
            } else if kind.is_file() {
                let rel = entry.path().strip_prefix(ctx).unwrap().to_owned();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}
