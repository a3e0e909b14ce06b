#!/usr/bin/env bash
# Instructions per warm retrieval (crate and bare reqwest) under callgrind; see
# benches/client_instructions.rs. Usage: benches/client_instructions.sh [tenants] (default 100).
# Needs valgrind (apt-get install valgrind). Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
tenants=${1:-100}
low=2
high=12
cargo build --profile bench --features simulator --example calm --quiet
bin=$(cargo bench --features simulator --bench client_instructions --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "client_instructions" and m.get("executable"):
        print(m["executable"])')
out=$(mktemp -d)
count() { # side rounds -> instructions of the whole run
  CALM_BENCH_SIDE=$1 CALM_BENCH_TENANTS=$tenants CALM_BENCH_ITERS=$2 \
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1.$2" "$bin" >/dev/null 2>"$out/log.$1.$2"
  sed -n 's/^summary: //p' "$out/cg.$1.$2"
}
declare -A per
for side in crate bare; do
  a=$(count "$side" $low)
  b=$(count "$side" $high)
  per[$side]=$(( (b - a) / ((high - low) * tenants) ))
  echo "$side: ${per[$side]} instructions per warm retrieval ($tenants tenants)"
done
python3 -c "print(f'ratio crate/bare: {${per[crate]}/${per[bare]}:.3f}')"
echo "callgrind files (for callgrind_annotate): $out"
