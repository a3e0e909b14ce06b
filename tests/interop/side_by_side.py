#!/usr/bin/env python3
"""Side by side: `calm cf key` against the PyPI `cloudfoundry-client` doing the same journey
(tests/interop/cf_key_journey.py) on one running `calm simulate`, each a fresh process with a
cold start (discovery and password login every time).

Usage: side_by_side.py SIMULATE_JSON CALM_BINARY PYTHON [RUNS]

Runs each client RUNS times (default 20), alternating, and prints a Markdown table: requests per
retrieval (calm's own count from its `requests` line; the Python client's counted at its HTTP
adapter) and the median and minimum wall time of a whole process. Exit 1 if a run fails or the
two disagree on the key.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ORG, SPACE, INSTANCE, KEY = "calm-auto", "dev", "cloud-alm-api", "cloud-alm-api-key"


def timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        print(f"failed: {' '.join(cmd)}\n{done.stdout}\n{done.stderr}", file=sys.stderr)
        sys.exit(1)
    return elapsed, done


def main() -> None:
    sim_json, calm, python = sys.argv[1:4]
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    with open(sim_json) as f:
        login = json.load(f)["cf_login"]
    here = os.path.dirname(os.path.abspath(__file__))
    calm_cmd = [calm, "cf", "key", "--api", login["api_url"], "--user", login["username"],
                "--org", ORG, "--space", SPACE, "--instance", INSTANCE, "--key", KEY]
    py_cmd = [python, os.path.join(here, "cf_key_journey.py"), sim_json, ORG, SPACE, INSTANCE,
              KEY]
    times: dict[str, list[float]] = {"calm": [], "py": []}
    requests: dict[str, set[int]] = {"calm": set(), "py": set()}
    ids = set()
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:  # no cf CLI config: a cold start each time
            env = dict(os.environ, CF_HOME=home, CF_PASSWORD=login["password"])
            env.pop("CF_API_URL", None)
            t, done = timed(calm_cmd, env)
            times["calm"].append(t)
            counted = re.search(r"^requests\s+(\d+)$", done.stderr, re.M)
            if not counted:
                print(f"calm printed no request count:\n{done.stderr}", file=sys.stderr)
                sys.exit(1)
            requests["calm"].add(int(counted.group(1)))
            ids.add(json.loads(done.stdout)["uaa"]["clientid"])
        t, done = timed(py_cmd, dict(os.environ))
        times["py"].append(t)
        answer = json.loads(done.stdout)
        requests["py"].add(answer["requests"])
        ids.add(answer["client_id"])
    if len(ids) != 1:
        print(f"the clients found different keys: {ids}", file=sys.stderr)
        sys.exit(1)

    def row(label: str, who: str) -> str:
        ms = [t * 1000 for t in times[who]]
        counts = "/".join(str(c) for c in sorted(requests[who]))
        return (f"| {label} | {counts} | {statistics.median(ms):.0f} ms | {min(ms):.0f} ms |")

    print(f"Cold `cf key` journey, org and space by name, {runs} fresh processes each:\n")
    print("| client | requests per retrieval | median wall time | fastest |")
    print("|---|---|---|---|")
    print(row("`calm cf key`", "calm"))
    print(row("`cloudfoundry-client` (PyPI)", "py"))


if __name__ == "__main__":
    main()
