#!/usr/bin/env python3
"""Generate a compose file of N services for benchmarks.

Default (loader) mode: every service uses YAML anchors and merge keys
(`<<: *defaults`) and interpolation (`${TAG:-1.0}`, `${REPLICA_ENV}`), so the
loader's whole path is measured: parse, merge keys, interpolation, decode,
normalise, validate.

`--engine` mode: a project meant to run on the engine. Every service runs the
local FROM scratch image `berth-test-demo:latest` with `command: ["sleep"]`,
has one `environment` entry (BENCH_VALUE) and is attached to the networks
`front` and `back`. With `--ports-volumes`, every tenth service also publishes
a port (127.0.0.1:<port-base + i/10>:5000) and mounts a named volume.
`--change-service I` writes the same project with service I's BENCH_VALUE
changed (the "one changed service" scenario).

usage: gen_compose.py N OUT_FILE
       gen_compose.py --engine [--ports-volumes] [--port-base P] [--change-service I] N OUT_FILE
"""
import argparse

ENGINE_IMAGE = "berth-test-demo:latest"


def loader_project(n):
    lines = [
        "name: bench",
        "x-defaults: &defaults",
        "  image: berth-bench:${TAG:-1.0}",
        "  restart: unless-stopped",
        "  command: [\"/berth-demo\", \"sleep\"]",
        "  networks: [front, back]",
        "  labels: &labels",
        "    team: bench",
        "    tier: ${TIER:-app}",
        "  healthcheck: {test: [\"CMD\", \"/berth-demo\", \"probe\", \"tcp\", \"127.0.0.1:80\"], interval: 30s, timeout: 5s}",
        "services:",
    ]
    for i in range(n):
        lines += [
            f"  svc{i}:",
            "    <<: *defaults",
            "    environment:",
            f"      SERVICE_INDEX: \"{i}\"",
            "      MODE: ${MODE:-production}",
            f"      PEER: svc{(i + 1) % n}",
        ]
        if i % 10 == 0:
            lines += [
                f"    ports: [\"{10000 + i // 10}:80\"]",
                f"    volumes: [\"data{i}:/data\"]",
            ]
    lines += ["networks:", "  front: {}", "  back: {}", "volumes:"]
    lines += [f"  data{i}: {{}}" for i in range(0, n, 10)]
    return lines


def engine_project(n, ports_volumes=False, port_base=41000, change_service=None):
    # no top-level `name:`: the benchmark passes -p (bench-berth / bench-compose)
    lines = ["services:"]
    for i in range(n):
        value = f"v{i}-changed" if i == change_service else f"v{i}"
        lines += [
            f"  svc{i}:",
            f"    image: {ENGINE_IMAGE}",
            "    command: [\"sleep\"]",
            "    environment:",
            f"      BENCH_VALUE: \"{value}\"",
            "    networks: [front, back]",
        ]
        if ports_volumes and i % 10 == 0:
            lines += [
                f"    ports: [\"127.0.0.1:{port_base + i // 10}:5000\"]",
                f"    volumes: [\"data{i}:/data\"]",
            ]
    lines += ["networks:", "  front: {}", "  back: {}"]
    if ports_volumes and n > 0:
        lines += ["volumes:"] + [f"  data{i}: {{}}" for i in range(0, n, 10)]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description="Generate a compose file of N services.")
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--engine", action="store_true", help="a project that runs on the engine")
    ap.add_argument("--ports-volumes", action="store_true",
                    help="(--engine) every tenth service publishes a port and mounts a named volume")
    ap.add_argument("--port-base", type=int, default=41000, help="(--engine) first published port")
    ap.add_argument("--change-service", type=int, default=None,
                    help="(--engine) change this service's environment value")
    args = ap.parse_args()
    if args.engine:
        lines = engine_project(args.n, args.ports_volumes, args.port_base, args.change_service)
    else:
        lines = loader_project(args.n)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
