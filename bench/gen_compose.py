#!/usr/bin/env python3
"""Generate a compose file of N services for benchmarks.

Every service uses YAML anchors and merge keys (`<<: *defaults`) and
interpolation (`${TAG:-1.0}`, `${REPLICA_ENV}`), so the loader's whole path
is measured: parse, merge keys, interpolation, decode, normalise, validate.

usage: gen_compose.py N OUT_FILE
"""
import sys


def main() -> None:
    n = int(sys.argv[1])
    out = sys.argv[2]
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
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
