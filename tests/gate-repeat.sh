#!/usr/bin/env bash
# The CI gate does not flake: a live run (embedded mock, every request succeeding) checked against
# its own repeat passes 20 times in 20, and a planted regression (10 % fewer requests succeed
# within the window... here: a 10 % slower arrival rate, so 10 % less goodput) still fails.
# About 50 s. Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${LIMITLAB:-.build/debug/limitlab}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
REPEATS=${REPEATS:-20}
cat >"$TMP/repeat.yaml" <<'YAML'
name: gate-repeat
seed: 11
duration: 2s
model: claude-sonnet-4-5
limits: {rpm: 100000, itpm: 100000000, otpm: 10000000}
server: {ttft: {dist: lognormal, median: 30ms, sigma: 0.3}, output_rate: 2000/s}
arrivals: [{process: poisson, rate: 20/s}]
workload: {input_tokens: 100, output_tokens: 20, max_tokens: 50}
strategies: [none]
YAML
sed 's#rate: 20/s#rate: 18/s#' "$TMP/repeat.yaml" > "$TMP/regressed.yaml"
"$BIN" run "$TMP/repeat.yaml" --target mock --out "$TMP/base" --quiet || { echo "FAIL the baseline run"; exit 1; }
python3 -c "
import json; r = json.load(open('$TMP/base/report.json'))
assert r['runs'][0]['summary']['success_rate'] == 1, 'the baseline run must have 100 % success (the case of the flake)'
" || exit 1
passed=0; failed=0
for i in $(seq 1 "$REPEATS"); do
    if "$BIN" run "$TMP/repeat.yaml" --target mock --out "$TMP/r$i" --quiet --check --baseline "$TMP/base/report.json" >"$TMP/out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); echo "FAIL repeat $i against the baseline"; sed 's/^/     /' "$TMP/out" | head -20
    fi
done
echo "repeats: $passed of $REPEATS pass against their own baseline"
"$BIN" run "$TMP/regressed.yaml" --target mock --out "$TMP/worse" --quiet --check --baseline "$TMP/base/report.json" >"$TMP/out" 2>&1
code=$?
if [ "$code" -eq 3 ] && grep -q "FAIL .*goodput" "$TMP/out"; then
    passed=$((passed + 1)); echo "ok   a 10 % goodput regression fails with exit 3"
else
    failed=$((failed + 1)); echo "FAIL the planted regression (exit $code)"; sed 's/^/     /' "$TMP/out" | head -20
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
