#!/usr/bin/env bash
# The parallel bar: a 10-strategy × 10-seed `compare` with --jobs 2 against --jobs 1 on the same
# machine, the best of ROUNDS alternating runs each, and the two report.json identical apart
# from generated_at. Usage: bench/parallel-compare.sh [ROUNDS]  (release build expected).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LIMITLAB:-.build/release/limitlab}
ROUNDS=${1:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
best() { sort -n | head -1; }
for r in $(seq "$ROUNDS"); do
    for j in 1 2; do
        s=$(date +%s.%N)
        "$BIN" compare bench/compare-10x10.yaml --replications 10 --jobs "$j" --out "$TMP/j$j-$r" > /dev/null
        e=$(date +%s.%N)
        echo "$e - $s" | bc >> "$TMP/t$j"
    done
done
t1=$(best < "$TMP/t1"); t2=$(best < "$TMP/t2")
cmp <(grep -v generated_at "$TMP/j1-1/report.json") <(grep -v generated_at "$TMP/j2-1/report.json")
echo "compare bench/compare-10x10.yaml --replications 10: --jobs 1 ${t1} s, --jobs 2 ${t2} s," \
     "speed-up $(echo "scale=2; $t1 / $t2" | bc)× (best of $ROUNDS; report.json identical)"
