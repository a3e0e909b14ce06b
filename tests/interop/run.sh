#!/usr/bin/env bash
# Interop check: third-party clients against `calm simulate`.
#
# - cloudfoundry-client (cf-python-client, PyPI; pinned in requirements.txt) against the
#   simulator's Cloud Foundry v3 API: tests/interop/cf_python_client.py;
# - plain HTTP (Python's urllib) against its token server and Service Manager:
#   tests/interop/sm_http.py.
#
# Creates (or reuses) a venv in target/interop-venv, builds the `calm` example, and twice
# (operations instant, then taking 600 ms) starts `calm simulate --port 0`, waits for its JSON,
# runs both scripts and stops the simulator, also on any exit. Exit status: that of the first
# failing script, else 0.
# Environment: PYTHON (default python3), INTEROP_TIMEOUT (seconds per script, default 120).
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3}
PER_SCRIPT=${INTEROP_TIMEOUT:-120}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
VENV=$TARGET_DIR/interop-venv
REQUIREMENTS=tests/interop/requirements.txt
started=$SECONDS

say() { printf 'interop: %s\n' "$*" >&2; }

# 1. The venv, rebuilt only when requirements.txt changed.
stamp=$VENV/.requirements.sha256
wanted=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "creating $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        --no-input -r "$REQUIREMENTS"
    echo "$wanted" >"$stamp"
fi
"$VENV/bin/python" -c 'import cloudfoundry_client' || {
    say "cloudfoundry-client does not import from $VENV"
    exit 1
}

# 2. The simulator binary.
say "building the calm example"
cargo build --quiet --example calm --features simulator
CALM=$TARGET_DIR/debug/examples/calm

# 3. Two rounds, each against a fresh simulator that is stopped whatever happens: operations
#    done at once (Service Manager answers 201/200, jobs COMPLETE on the first poll), then
#    operations taking 600 ms (202 + polling, keys "in progress", jobs PROCESSING/POLLING).
work=$(mktemp -d "${TMPDIR:-/tmp}/calm-interop.XXXXXX")
sim_pid=
stop_simulator() {
    if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
        kill -TERM "$sim_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$sim_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$sim_pid" 2>/dev/null || true
    fi
    [ -n "$sim_pid" ] && wait "$sim_pid" 2>/dev/null || true
    sim_pid=
}
cleanup() {
    stop_simulator
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
round() {
    local label=$1
    shift
    local json=$work/simulate-$label.json err=$work/simulate-$label.err
    "$CALM" simulate --port 0 "$@" >"$json" 2>"$err" </dev/null &
    sim_pid=$!
    # `calm simulate` prints one pretty JSON object, then serves: wait until it parses.
    local deadline=$((SECONDS + 30))
    until "$VENV/bin/python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$json" 2>/dev/null; do
        if ! kill -0 "$sim_pid" 2>/dev/null; then
            say "calm simulate $* exited early:"
            cat "$err" >&2
            exit 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "calm simulate $* printed no complete JSON within 30 s"
            exit 1
        fi
        sleep 0.1
    done
    say "[$label] simulator up (pid $sim_pid)"
    local script status
    for script in cf_python_client.py sm_http.py; do
        say "[$label] running $script"
        if timeout "$PER_SCRIPT" "$VENV/bin/python" "tests/interop/$script" "$json"; then
            passed=$((passed + 1))
        else
            status=$?
            failed=$((failed + 1))
            [ "$status" -eq 124 ] && say "$script timed out after $PER_SCRIPT s"
            say "[$label] $script failed (exit $status); simulator stderr:"
            cat "$err" >&2
            echo "interop: $passed passed, $failed failed"
            exit "$status"
        fi
    done
    stop_simulator
}

round instant
round slow --operation-ms 600

say "done in $((SECONDS - started)) s"
echo "interop: $passed passed, $failed failed"
