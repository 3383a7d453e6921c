#!/usr/bin/env bash
# Builds berth-demo as a static binary and copies it into the build contexts
# of examples/getting-started (web and redis), whose images are FROM scratch.
#
# Usage: examples/prepare.sh
#
# Idempotent: cargo rebuilds only what changed, and a copy is refreshed only
# when it differs from the fresh build. The copies are git-ignored.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The machine's own target (x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu,
# ...): an explicit --target keeps RUSTFLAGS off build scripts and proc macros,
# and the images run on this machine's engine.
target="$(rustc -vV | sed -n 's/^host: //p')"
if [ -z "$target" ]; then
    echo "prepare.sh: cannot tell this machine's target: \`rustc -vV\` prints no host: line" >&2
    exit 1
fi
# A separate target dir: static RUSTFLAGS would otherwise invalidate (and
# contend for the lock on) the workspace's normal build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/demo}"
export RUSTFLAGS='-C target-feature=+crt-static'
# Smaller images: no symbols or debug info in the copied binary.
export CARGO_PROFILE_RELEASE_STRIP=symbols

cargo build --manifest-path "$root/Cargo.toml" -p berth-demo --release --target "$target"

bin="$CARGO_TARGET_DIR/$target/release/berth-demo"
# A static (or static-pie) binary has no ELF interpreter: nothing to load
# from an image that has no /lib.
if command -v readelf >/dev/null && readelf -l "$bin" | grep -q 'INTERP'; then
    echo "prepare.sh: $bin is dynamically linked; a FROM scratch image needs a static binary" >&2
    exit 1
fi

for dir in "$root/examples/getting-started" "$root/examples/getting-started/redis"; do
    dest="$dir/berth-demo"
    if ! cmp -s "$bin" "$dest"; then
        install -m 0755 "$bin" "$dest"
        echo "prepare.sh: copied berth-demo to ${dest#"$root"/}"
    else
        echo "prepare.sh: ${dest#"$root"/} is up to date"
    fi
done
