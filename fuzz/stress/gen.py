#!/usr/bin/env python3
"""Write hand-made stress inputs for the loader (small files that cost a lot).

    python3 fuzz/stress/gen.py OUT_DIR

Each file is a complete compose file (one `web` service plus the stress part);
feed one to the fuzz target with `cargo fuzz run load OUT_DIR/NAME.yaml`, or to
`berth config -f OUT_DIR/NAME.yaml`, under `/usr/bin/time -v` to see its time and
peak memory. See fuzz/README.md for what each one exercises.
"""
import os
import sys

HDR = "services:\n  web:\n    image: nginx\n"


def laughs(depth):
    """Billion laughs: each level is a list of two aliases of the level below."""
    lines = ["x-l0: &a0 [x, x]"]
    lines += [f"x-l{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, depth)]
    return "\n".join(lines) + "\n" + HDR


def scalar_laughs(levels, size=4000):
    """Aliases of one long scalar, fanout 10: few copied nodes, many bytes."""
    lines = ["x-s0: &s0 " + "x" * size]
    lines += [f"x-s{i}: &s{i} [" + ", ".join([f"*s{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return HDR + "\n".join(lines) + "\n"


def block_nesting(depth):
    """`- - - ... x`: block sequences nested `depth` deep on one line."""
    return HDR + "x-deep:\n  " + "- " * depth + "x\n"


def interpolation_nesting(depth):
    """`${A:-${A:-...x}}` nested `depth` deep."""
    return HDR + "    hostname: '" + "${A:-" * depth + "x" + "}" * depth + "'\n"


def extends_chain(n):
    """s1 extends s0, s2 extends s1, ... s{n-1}."""
    return "services:\n  s0:\n    image: nginx\n" + "".join(
        f"  s{i}:\n    extends: s{i - 1}\n" for i in range(1, n)
    )


def port_ranges(n):
    """`n` copies of the full port range `1-65535`."""
    return HDR + "    ports: [" + ", ".join(['"1-65535"'] * n) + "]\n"


def merge_key(n):
    """`<<: *a` of a mapping with `n` keys."""
    return HDR + "x-big: &a\n" + "".join(f"  k{i}: v\n" for i in range(n)) + "x-m:\n  <<: *a\n"


CASES = {
    "laughs20": laughs(20),
    "laughs30": laughs(30),
    "scalar-laughs5": scalar_laughs(5),
    "scalar-laughs6": scalar_laughs(6),
    "block-nesting-10000": block_nesting(10_000),
    "block-nesting-30000": block_nesting(30_000),
    "interp-nesting-20000": interpolation_nesting(20_000),
    "interp-nesting-30000": interpolation_nesting(30_000),
    "extends-chain-250": extends_chain(250),
    "extends-chain-500": extends_chain(500),
    "ports-100": port_ranges(100),
    "merge-key-30000": merge_key(30_000),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "stress-inputs"
    os.makedirs(out, exist_ok=True)
    for name, text in CASES.items():
        path = os.path.join(out, name + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        print(f"{path}\t{len(text.encode())} bytes")


if __name__ == "__main__":
    main()
