//! The Swarm column's tables: every Compose attribute, and under it every
//! key of a deploy's placement and resources, a service's networks, ports
//! and volumes, and the top-level networks, IPAM, configs and secrets, with
//! what berth does with it on Docker Swarm. Separate from the checks that
//! read them (`super`), as the README's tables are generated from these.

use super::super::Support::{self, Applied, Ignored, Refused};

/// Not applied by berth on Swarm yet (`docker stack deploy` converts it).
pub(super) const NOT_YET: &str =
    "berth does not apply it on Swarm yet; remove it, or use the plain engine (`--backend docker`)";
/// Outside `docker stack deploy`'s schema: stack deploy refuses the file.
pub(super) const STACK_REFUSES: &str = "Swarm services have no such setting and `docker stack deploy` refuses it too; remove it, or use the plain engine (`--backend docker`)";
pub(super) const CPU: &str =
    "set CPU limits as `deploy.resources.limits.cpus`, as `docker stack deploy` requires";
pub(super) const MEMORY: &str =
    "set memory limits as `deploy.resources.limits.memory`, as `docker stack deploy` requires";
pub(super) const TASK_ADDRESS: &str = "Swarm gives each task its address itself (`docker stack deploy` drops this without a word); remove it";

/// Every service attribute of the Compose Specification, on Swarm.
pub const SERVICE: &[(&str, Support)] = &[
    ("annotations", Refused(STACK_REFUSES)),
    (
        "attach",
        Ignored("berth never attaches to a service's output"),
    ),
    ("blkio_config", Refused(STACK_REFUSES)),
    ("build", Applied),
    ("cap_add", Applied),
    ("cap_drop", Applied),
    (
        "cgroup",
        Ignored(
            "Swarm tasks run in the engine's default cgroup namespace; `docker stack deploy` ignores it too (as `cgroupns_mode`)",
        ),
    ),
    (
        "cgroup_parent",
        Ignored("Swarm sets no cgroup parent; `docker stack deploy` ignores it too"),
    ),
    ("command", Applied),
    ("configs", Applied),
    (
        "container_name",
        Ignored("Swarm names each task itself; `docker stack deploy` ignores it too"),
    ),
    ("cpu_count", Refused(CPU)),
    ("cpu_percent", Refused(CPU)),
    ("cpu_period", Refused(CPU)),
    ("cpu_quota", Refused(CPU)),
    ("cpu_rt_period", Refused(STACK_REFUSES)),
    ("cpu_rt_runtime", Refused(STACK_REFUSES)),
    ("cpu_shares", Refused(CPU)),
    ("cpus", Refused(CPU)),
    ("cpuset", Refused(CPU)),
    (
        "credential_spec",
        Refused("credential specs are for Windows containers, which berth does not run"),
    ),
    (
        "depends_on",
        Ignored(
            "Swarm starts services in no order and waits for none; `docker stack deploy` ignores it too",
        ),
    ),
    ("deploy", Applied),
    (
        "develop",
        Ignored("`develop` is for `docker compose watch`"),
    ),
    ("device_cgroup_rules", Refused(STACK_REFUSES)),
    (
        "devices",
        Ignored("Swarm services get no host devices; `docker stack deploy` ignores it too"),
    ),
    ("dns", Applied),
    ("dns_opt", Applied),
    ("dns_search", Applied),
    (
        "domainname",
        Ignored("Swarm sets no domain name; `docker stack deploy` ignores it too"),
    ),
    ("entrypoint", Applied),
    ("env_file", Applied),
    ("environment", Applied),
    (
        "expose",
        Ignored(
            "services on one network reach each other on every port; `docker stack deploy` ignores it too",
        ),
    ),
    ("extends", Applied),
    (
        "external_links",
        Ignored(
            "Swarm has no links: services reach each other by name on a shared network; `docker stack deploy` ignores it too",
        ),
    ),
    ("extra_hosts", Applied),
    ("gpus", Refused(STACK_REFUSES)),
    ("group_add", Applied),
    ("healthcheck", Applied),
    ("hostname", Applied),
    ("image", Applied),
    ("init", Applied),
    (
        "ipc",
        Ignored("Swarm tasks share no IPC namespace; `docker stack deploy` ignores it too"),
    ),
    ("isolation", Applied),
    ("label_file", Applied),
    ("labels", Applied),
    (
        "links",
        Ignored(
            "Swarm has no links: services reach each other by name on a shared network; `docker stack deploy` ignores it too",
        ),
    ),
    ("logging", Applied),
    (
        "mac_address",
        Ignored("Swarm gives each task its address itself; `docker stack deploy` ignores it too"),
    ),
    ("mem_limit", Refused(MEMORY)),
    (
        "mem_reservation",
        Refused(
            "reserve memory as `deploy.resources.reservations.memory`, as `docker stack deploy` requires",
        ),
    ),
    ("mem_swappiness", Refused(STACK_REFUSES)),
    ("memswap_limit", Refused(MEMORY)),
    ("models", Refused(STACK_REFUSES)),
    (
        "network_mode",
        Ignored(
            "Swarm services join the networks named in `networks:`; `docker stack deploy` ignores it too",
        ),
    ),
    ("networks", Applied),
    ("oom_kill_disable", Refused(STACK_REFUSES)),
    ("oom_score_adj", Refused(NOT_YET)),
    (
        "pid",
        Ignored("Swarm tasks share no PID namespace; `docker stack deploy` ignores it too"),
    ),
    (
        "pids_limit",
        Refused("limit pids as `deploy.resources.limits.pids`, as `docker stack deploy` requires"),
    ),
    (
        "platform",
        Refused(
            "choose nodes with `deploy.placement.constraints` (`node.platform.arch==x86_64`); `docker stack deploy` refuses `platform` too",
        ),
    ),
    ("ports", Applied),
    ("post_start", Refused(STACK_REFUSES)),
    ("pre_stop", Refused(STACK_REFUSES)),
    (
        "privileged",
        Ignored("Swarm services cannot run privileged; `docker stack deploy` ignores it too"),
    ),
    ("profiles", Applied),
    ("provider", Refused(STACK_REFUSES)),
    ("pull_policy", Applied),
    (
        "pull_refresh_after",
        Refused("berth never pulls an image it already has; remove it"),
    ),
    ("read_only", Applied),
    ("restart", Applied),
    ("runtime", Refused(STACK_REFUSES)),
    ("scale", Applied),
    ("secrets", Applied),
    (
        "security_opt",
        Ignored("Swarm services take no security options; `docker stack deploy` ignores it too"),
    ),
    (
        "shm_size",
        Ignored(
            "Swarm tasks keep the engine's default /dev/shm size; `docker stack deploy` ignores it too",
        ),
    ),
    ("stdin_open", Applied),
    ("stop_grace_period", Applied),
    ("stop_signal", Applied),
    ("storage_opt", Refused(STACK_REFUSES)),
    ("sysctls", Applied),
    ("tmpfs", Applied),
    ("tty", Applied),
    ("ulimits", Applied),
    ("use_api_socket", Refused(STACK_REFUSES)),
    ("user", Applied),
    (
        "userns_mode",
        Ignored("Swarm services take no user namespace mode; `docker stack deploy` ignores it too"),
    ),
    ("uts", Refused(STACK_REFUSES)),
    ("volumes", Applied),
    (
        "volumes_from",
        Refused(
            "declare the volume under the top-level `volumes:` and mount it in each service that shares it, as `docker stack deploy` requires",
        ),
    ),
    ("working_dir", Applied),
];

/// `deploy.placement`.
pub(super) const PLACEMENT: &[(&str, Support)] = &[
    ("constraints", Applied),
    ("max_replicas_per_node", Applied),
    ("preferences", Applied),
];

/// `deploy.resources.limits`.
pub(super) const LIMITS: &[(&str, Support)] = &[
    ("cpus", Applied),
    ("devices", Refused(STACK_REFUSES)),
    ("generic_resources", Refused(STACK_REFUSES)),
    ("memory", Applied),
    ("pids", Applied),
];

/// `deploy.resources.reservations`.
pub(super) const RESERVATIONS: &[(&str, Support)] = &[
    ("cpus", Applied),
    ("devices", Refused(STACK_REFUSES)),
    ("generic_resources", Refused(NOT_YET)),
    ("memory", Applied),
    ("pids", Refused(STACK_REFUSES)),
];

/// A service's entry under `networks:`.
pub(super) const SERVICE_NETWORK: &[(&str, Support)] = &[
    ("aliases", Applied),
    ("driver_opts", Refused(NOT_YET)),
    ("gw_priority", Refused(STACK_REFUSES)),
    ("interface_name", Refused(STACK_REFUSES)),
    ("ipv4_address", Refused(TASK_ADDRESS)),
    ("ipv6_address", Refused(TASK_ADDRESS)),
    ("link_local_ips", Refused(TASK_ADDRESS)),
    ("mac_address", Refused(TASK_ADDRESS)),
    ("priority", Refused(STACK_REFUSES)),
];

/// A port in the long syntax (`host_ip` is checked on its own: see [`check`]).
pub(super) const PORT: &[(&str, Support)] = &[
    (
        "app_protocol",
        Ignored("Swarm's published ports carry no application protocol"),
    ),
    ("host_ip", Applied),
    ("mode", Applied),
    ("name", Ignored("Swarm's published ports carry no name")),
    ("protocol", Applied),
    ("published", Applied),
    ("target", Applied),
];

/// A volume in the long syntax, and the options under its `bind`, `volume`
/// and `tmpfs` keys.
pub(super) const MOUNT: &[(&str, Support)] = &[
    (
        "bind.create_host_path",
        Ignored(
            "Swarm never creates a bind mount's host path: it must exist on every node that runs a task",
        ),
    ),
    ("bind.propagation", Applied),
    (
        "bind.selinux",
        Refused(
            "Swarm's bind mounts take no SELinux relabelling (`z`, `Z`; `docker stack deploy` drops it without a word); label the host path yourself and remove it",
        ),
    ),
    ("consistency", Applied),
    ("read_only", Applied),
    ("source", Applied),
    ("target", Applied),
    ("tmpfs.mode", Applied),
    ("tmpfs.size", Applied),
    ("type", Applied),
    ("volume.nocopy", Applied),
    ("volume.subpath", Applied),
];

/// A top-level network (`driver` is checked on its own: see [`check`]).
pub(super) const NETWORK: &[(&str, Support)] = &[
    ("attachable", Applied),
    ("driver", Applied),
    ("driver_opts", Applied),
    ("enable_ipv4", Refused(NOT_YET)),
    ("enable_ipv6", Applied),
    ("external", Applied),
    ("internal", Applied),
    ("ipam", Applied),
    ("labels", Applied),
    ("name", Applied),
];

/// A top-level network's `ipam`.
pub(super) const IPAM: &[(&str, Support)] = &[
    ("config", Applied),
    ("driver", Applied),
    ("options", Applied),
];

/// One pool of a top-level network's `ipam.config`.
pub(super) const IPAM_POOL: &[(&str, Support)] = &[
    ("aux_addresses", Applied),
    ("gateway", Applied),
    ("ip_range", Applied),
    ("subnet", Applied),
];

/// A top-level config or secret.
pub(super) const FILE_OBJECT: &[(&str, Support)] = &[
    ("content", Applied),
    ("driver", Refused(NOT_YET)),
    ("driver_opts", Refused(NOT_YET)),
    ("environment", Applied),
    ("external", Applied),
    ("file", Applied),
    ("labels", Applied),
    ("name", Applied),
    ("template_driver", Refused(NOT_YET)),
];

/// Every table below the service's own attributes, by where its attributes
/// stand (as the README's "Docker Swarm" section names them).
pub const INNER: &[(&str, &[(&str, Support)])] = &[
    ("services.*.deploy.placement", PLACEMENT),
    ("services.*.deploy.resources.limits", LIMITS),
    ("services.*.deploy.resources.reservations", RESERVATIONS),
    ("services.*.networks.*", SERVICE_NETWORK),
    ("services.*.ports[]", PORT),
    ("services.*.volumes[]", MOUNT),
    ("networks.*", NETWORK),
    ("networks.*.ipam", IPAM),
    ("networks.*.ipam.config[]", IPAM_POOL),
    ("configs.*", FILE_OBJECT),
    ("secrets.*", FILE_OBJECT),
];

/// What the README says of attributes applied with conditions (checked on
/// their own in [`check`]), by the README's name for them.
pub const NOTES: &[(&str, &str)] = &[
    (
        "build",
        "berth builds locally and deploys the built image by ID (stack deploy ignores `build`); build keys as on the plain engine",
    ),
    (
        "deploy",
        "`mode` `replicated` or `global` (`replicated-job`, `global-job` refused: not yet; `replicas` with `global` refused)",
    ),
    (
        "pull_policy",
        "as on the plain engine, for the image berth builds or pulls on the engine it talks to; each node pulls what it lacks",
    ),
    (
        "restart",
        "the restart policy when `deploy.restart_policy` is absent (beside it: ignored, a warning); `no` is the condition `none` (stack deploy leaves it to Swarm's default, which restarts)",
    ),
    (
        "volumes",
        "named, bind and tmpfs; `:z`/`:Z` and `type: npipe`, `cluster`, `image` refused",
    ),
    (
        "ports",
        "one published port each, through the routing mesh or `mode: host` (without one, Swarm picks one from 30000 up, as with `docker stack deploy`); a range is refused",
    ),
    (
        "services.*.ports[].host_ip",
        "every address only: a port on one host address is refused",
    ),
    (
        "networks.*.driver",
        "`overlay` (the default on Swarm); any other driver is refused",
    ),
];
