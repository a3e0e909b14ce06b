#!/usr/bin/env bash
# The side-by-side row of BENCHMARKS.md: `calm cf key` and the PyPI `cloudfoundry-client` doing
# the same cold journey (org and space by name, existing instance and key) against one
# `calm simulate`, each as fresh processes; prints a Markdown table.
#
# Uses the interop venv of tests/interop/run.sh (target/interop-venv, created here the same way
# when missing) and the `calm` example built with the release profile.
# Environment: PYTHON (default python3), RUNS (default 20).
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3}
RUNS=${RUNS:-20}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
VENV=$TARGET_DIR/interop-venv
REQUIREMENTS=tests/interop/requirements.txt

stamp=$VENV/.requirements.sha256
wanted=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        --no-input -r "$REQUIREMENTS"
    echo "$wanted" >"$stamp"
fi

cargo build --quiet --release --example calm
CALM=$TARGET_DIR/release/examples/calm

work=$(mktemp -d "${TMPDIR:-/tmp}/calm-side-by-side.XXXXXX")
"$CALM" simulate --port 0 >"$work/simulate.json" 2>"$work/simulate.err" </dev/null &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do
    "$VENV/bin/python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/simulate.json" \
        2>/dev/null && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$work/simulate.err" >&2; exit 1; }
    sleep 0.1
done
"$VENV/bin/python" tests/interop/side_by_side.py "$work/simulate.json" "$CALM" \
    "$VENV/bin/python" "$RUNS"
