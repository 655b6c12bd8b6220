#!/usr/bin/env bash
# The parallel bar: a 10-strategy × 10-seed `compare` with --jobs 2 against --jobs 1 on the same
# machine, the best of ROUNDS alternating runs each, and the two report.json identical apart
# from generated_at. Usage: bench/parallel-compare.sh [ROUNDS]. Builds the release binary under
# .build-bench (LIMITLAB=path skips that) and writes reports/bench/parallel.json (OUT to change).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
OUT=${OUT:-reports/bench}
if [ -z "${LIMITLAB:-}" ]; then
    nice -n 10 swift build -c release --product limitlab --scratch-path .build-bench >&2
fi
BIN=${LIMITLAB:-.build-bench/release/limitlab}
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
python3 - "$t1" "$t2" "$ROUNDS" "$BIN" "$OUT" <<'PY'
import sys
sys.path.insert(0, "bench")
import benchlib
t1, t2, rounds, binary, out = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
cmd = f"{binary} compare bench/compare-10x10.yaml --replications 10 --jobs N (best of {rounds}; bash bench/parallel-compare.sh)"
speedup = t1 / t2
benchlib.write(f"{out}/parallel.json", benchlib.suite("parallel", [
    benchlib.figure("parallel.compare-10x10.speedup", "compare, 10 strategies × 10 seeds: --jobs 2 vs --jobs 1 "
                    "wall time (report.json identical apart from generated_at)", speedup, "×", cmd,
                    target="≥ 1.8", met=speedup >= 1.8),
    benchlib.figure("parallel.compare-10x10.jobs1_s", "the same compare with --jobs 1", t1, "s", cmd),
    benchlib.figure("parallel.compare-10x10.jobs2_s", "the same compare with --jobs 2", t2, "s", cmd),
]))
PY
