//! Hand-built plans for the renderers' snapshot tests.
//!
//! Shared by the text, Markdown and JSON tests, so that the three formats are
//! specified over the same plans.

use serde_json::{Value, json};

use crate::plan::rollout::{FailureAction, Gate, Order, Rollout};
use crate::plan::{Action, Change, Drift, FORMAT_VERSION, Orphan, OrphanKind, Plan, Reason};

/// A 64-hex-digit ID starting with `prefix`.
pub fn id(prefix: &str) -> String {
    format!("{prefix:0<64}")
}

pub fn change(address: &str, name: &str, action: Action, reasons: Vec<Reason>) -> Change {
    Change {
        address: address.parse().expect("fixture addresses are valid"),
        action,
        ops: vec![],
        reasons,
        name: name.to_string(),
        id: None,
        before: None,
        after: None,
        after_hash: None,
        data_loss: false,
        security: vec![],
        rollout: None,
        version: None,
    }
}

pub fn config(path: &str, old: Option<Value>, new: Option<Value>) -> Reason {
    Reason::Config {
        path: path.to_string(),
        old,
        new,
    }
}

fn plan(project: &str, changes: Vec<Change>) -> Plan {
    Plan {
        format_version: FORMAT_VERSION,
        project: project.to_string(),
        refreshed: true,
        changes,
        orphans: vec![],
        leftovers: vec![],
        errors: vec![],
    }
}

/// docs/example-plan.md: in Docker's getting-started stack, web moves to port
/// 8080 and joins a new network `back`; someone stopped redis by hand.
pub fn example() -> Plan {
    let web_before = json!({
        "image": "web:latest", "name": "web", "number": 1,
        "networks": {"service-network": {}},
        "ports": [{"mode": "ingress", "target": 5000, "published": "5000", "protocol": "tcp"}],
    });
    let mut web_after = web_before.clone();
    web_after["networks"]["back"] = json!({});
    web_after["ports"][0]["published"] = json!("8080");
    let redis = json!({
        "image": "getting-started-redis", "name": "redis", "number": 1,
        "networks": {"service-network": {}},
    });
    let unchanged = |address: &str, name: &str, id_prefix: &str, spec: Value| Change {
        id: Some(id(id_prefix)),
        before: Some(spec.clone().into()),
        after: Some(spec.into()),
        ..change(address, name, Action::NoOp, vec![])
    };
    plan(
        "getting-started",
        vec![
            change(
                "network.back",
                "getting-started_back",
                Action::Create,
                vec![Reason::New],
            )
            .with(|c| {
                c.after = Some(json!({"driver": "bridge", "name": "getting-started_back"}).into())
            }),
            unchanged(
                "network.service-network",
                "service-network",
                "7d1f",
                json!({"driver": "bridge", "name": "service-network"}),
            ),
            unchanged(
                "image.redis",
                "getting-started-redis",
                "5e0a",
                json!({"reference": "getting-started-redis"}),
            ),
            unchanged(
                "image.web",
                "web:latest",
                "c47b",
                json!({"reference": "web:latest"}),
            ),
            change(
                "container.redis[1]",
                "redis",
                Action::Update,
                vec![Reason::Drift(Drift::NotRunning {
                    state: "exited".into(),
                    exit_code: Some(0),
                })],
            )
            .with(|c| {
                c.ops = vec![crate::plan::InPlace::Start];
                c.id = Some(id("9a8b7c6d5e4f"));
                c.before = Some(redis.clone().into());
                c.after = Some(redis.clone().into());
            }),
            change(
                "container.web[1]",
                "web",
                Action::Replace,
                vec![
                    config("networks.back", None, Some(json!({}))),
                    config(
                        "ports[0].published",
                        Some(json!("5000")),
                        Some(json!("8080")),
                    ),
                ],
            )
            .with(|c| {
                c.id = Some(id("1b2c3d4e5f60"));
                c.before = Some(web_before.clone().into());
                c.after = Some(web_after.clone().into());
                c.security = vec!["publishes port 8080:5000 on all interfaces".into()];
                c.rollout = Some(Rollout {
                    order: Order::StopFirst,
                    forced: None,
                    parallelism: 0,
                    delay_ms: 0,
                    gate: Gate::None,
                    on_failure: FailureAction::Pause,
                    rollback_order: Order::StopFirst,
                    max_failure_ratio: 0.0,
                });
            }),
        ],
    )
}

/// Every action and every reason kind, with orphans.
pub fn everything() -> Plan {
    let dockerfile_old =
        "FROM scratch\nCOPY berth-demo /berth-demo\nEXPOSE 5000\nENTRYPOINT [\"/berth-demo\"]\n";
    let dockerfile_new = "FROM scratch\nCOPY berth-demo /berth-demo\nEXPOSE 8080\nENTRYPOINT [\"/berth-demo\"]\nCMD [\"serve\"]\n";
    let mut p = plan(
        "demo",
        vec![
            change(
                "network.back",
                "demo_back",
                Action::Create,
                vec![Reason::New],
            ),
            change(
                "network.front",
                "demo_front",
                Action::Replace,
                vec![config("internal", Some(json!(false)), Some(json!(true)))],
            )
            .with(|c| c.id = Some(id("0f1e2d3c4b5a"))),
            change("network.default", "demo_default", Action::NoOp, vec![]),
            change(
                "network.shared",
                "shared",
                Action::Read,
                vec![Reason::ExternalMissing],
            ),
            change("network.outside", "outside", Action::Read, vec![])
                .with(|c| c.id = Some(id("aaaa"))),
            change(
                "volume.data",
                "demo_data",
                Action::Replace,
                vec![config("driver", Some(json!("local")), Some(json!("nfs")))],
            )
            .with(|c| c.data_loss = true),
            change(
                "volume.old",
                "demo_old",
                Action::Delete,
                vec![Reason::Orphan {
                    why: OrphanKind::RemovedFromFile,
                }],
            )
            .with(|c| c.data_loss = true),
            change(
                "image.web",
                "demo-web",
                Action::Replace,
                vec![
                    config(
                        "build.dockerfile_content",
                        Some(json!(dockerfile_old)),
                        Some(json!(dockerfile_new)),
                    ),
                    Reason::Drift(Drift::ImageChanged {
                        reference: "demo-web".into(),
                        running: "sha256:1234567890abcdef1234".into(),
                        current: "sha256:abcdef1234567890abcd".into(),
                    }),
                ],
            ),
            change(
                "image.redis",
                "redis:7",
                Action::Update,
                vec![Reason::Adopted {
                    id: "sha256:77aa88bb99cc00dd".into(),
                    matches: true,
                }],
            ),
            change(
                "container.web[1]",
                "demo-web-1",
                Action::Replace,
                vec![
                    config(
                        "ports[0].published",
                        Some(json!("5000")),
                        Some(json!("8080")),
                    ),
                    config(
                        "environment.DB_PASSWORD",
                        Some(json!("(sensitive)")),
                        Some(json!("(sensitive)")),
                    ),
                    config("environment.MODE", None, Some(json!("prod"))),
                    config("cap_add", Some(json!(["NET_ADMIN"])), None),
                    config(
                        "command",
                        Some(json!(["sh", "-c", "echo start\nexec serve"])),
                        Some(json!(["sh", "-c", "echo start\nmigrate\nexec serve"])),
                    ),
                    Reason::Dependency {
                        on: "network.front".parse().unwrap(),
                        action: Action::Replace,
                    },
                ],
            )
            .with(|c| {
                c.id = Some(id("1b2c3d4e5f60"));
                c.security = vec!["runs privileged".into()];
            }),
            change(
                "container.web[2]",
                "demo-web-2",
                Action::Create,
                vec![Reason::Drift(Drift::Missing)],
            ),
            change(
                "container.web[3]",
                "demo-web-3",
                Action::Delete,
                vec![
                    Reason::ScaledDown {
                        service: "web".into(),
                        replicas: 2,
                    },
                    Reason::Drift(Drift::Missing),
                ],
            ),
            change(
                "container.db[1]",
                "demo-db-1",
                Action::Update,
                vec![
                    Reason::Drift(Drift::NotRunning {
                        state: "exited".into(),
                        exit_code: Some(137),
                    }),
                    Reason::Drift(Drift::Attribute {
                        path: "restart".into(),
                        applied: json!("always"),
                        observed: json!("no"),
                    }),
                    config("mem_limit", Some(json!("256m")), Some(json!("512m"))),
                ],
            ),
            change(
                "container.api[1]",
                "demo-api-1",
                Action::Replace,
                vec![
                    Reason::Drift(Drift::Unhealthy),
                    Reason::Drift(Drift::Replaced {
                        recorded: id("aa11bb22cc33"),
                        found: id("dd44ee55ff66"),
                    }),
                    Reason::Dependency {
                        on: "network.back".parse().unwrap(),
                        action: Action::Create,
                    },
                ],
            ),
            change(
                "container.worker[1]",
                "demo-worker-1",
                Action::Update,
                vec![
                    Reason::Adopted {
                        id: id("c0ffee000001"),
                        matches: true,
                    },
                    Reason::Drift(Drift::NotRunning {
                        state: "created".into(),
                        exit_code: None,
                    }),
                ],
            ),
            change(
                "container.worker[2]",
                "demo-worker-2",
                Action::Replace,
                vec![Reason::Adopted {
                    id: id("c0ffee000002"),
                    matches: false,
                }],
            ),
            change("container.cache[1]", "demo-cache-1", Action::NoOp, vec![]),
            change(
                "container.ghost[1]",
                "demo-ghost-1",
                Action::Delete,
                vec![Reason::Orphan {
                    why: OrphanKind::NotInState,
                }],
            ),
        ],
    );
    p.orphans = vec![
        Orphan {
            kind: "container".into(),
            name: "demo-legacy-1".into(),
            id: id("beef00000001"),
        },
        Orphan {
            kind: "network".into(),
            name: "demo_legacy".into(),
            id: id("beef00000002"),
        },
    ];
    p.errors = vec!["external network `shared` does not exist; create it first".into()];
    p
}

/// Everything applied and running as recorded.
/// A plan whose one change touches a secret (`DB_PASSWORD=hunter2` before and after).
pub fn with_secret() -> Plan {
    let mut plan = unchanged();
    let spec = serde_json::json!({"environment": {"DB_PASSWORD": "hunter2", "MODE": "prod"}});
    let mut c = change(
        "container.web[1]",
        "demo-web-1",
        Action::Replace,
        vec![config(
            "environment.DB_PASSWORD",
            Some(serde_json::json!("(sensitive)")),
            Some(serde_json::json!("(sensitive)")),
        )],
    );
    c.before = Some(crate::plan::sensitive::mask(&spec).into());
    c.after = Some(crate::plan::sensitive::mask(&spec).into());
    plan.changes = vec![c];
    plan
}

pub fn unchanged() -> Plan {
    plan(
        "demo",
        vec![
            change("network.default", "demo_default", Action::NoOp, vec![]),
            change("container.web[1]", "demo-web-1", Action::NoOp, vec![]),
        ],
    )
}

/// Builder sugar for the fixtures above.
pub trait With: Sized {
    fn with(self, f: impl FnOnce(&mut Self)) -> Self;
}

impl With for Change {
    fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

/// `assert_eq!` for long texts: on a mismatch, both in full and a line diff.
#[track_caller]
pub fn assert_text(actual: &str, expected: &str) {
    if actual != expected {
        let diff = similar::TextDiff::from_lines(expected, actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        panic!("texts differ\n--- actual:\n{actual}\n--- expected:\n{expected}\n--- diff:\n{diff}");
    }
}
