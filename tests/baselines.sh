#!/usr/bin/env bash
# Dogfooding the CI gate: every example scenario runs in the simulator and is checked against
# its committed baseline (baselines/<scenario file stem>.json) and its own thresholds. A change
# to a strategy or the limit model that shifts any result fails here; if the shift is intended,
# run `make baselines` and commit the new files.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${LIMITLAB:-.build/debug/limitlab}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
for scenario in scenarios/*.yaml; do
    stem=$(basename "$scenario" .yaml)
    baseline="baselines/$stem.json"
    if [ ! -f "$baseline" ]; then
        echo "FAIL $scenario: no baseline $baseline (run make baselines)"
        failed=$((failed + 1))
        continue
    fi
    if "$BIN" run "$scenario" --out "$TMP/$stem" --quiet --check --baseline "$baseline" >"$TMP/$stem.out" 2>&1; then
        echo "ok   $scenario matches $baseline"
        passed=$((passed + 1))
    else
        echo "FAIL $scenario against $baseline:"
        sed 's/^/     /' "$TMP/$stem.out"
        failed=$((failed + 1))
    fi
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
