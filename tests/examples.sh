#!/usr/bin/env bash
# Runs every example in examples/*/ through `limitlab test`: its client against the mock with
# its scenario's limits, checked against the scenario's thresholds and, when the example has
# one, its committed baseline.json. Reports go to .build/examples/<name>/.
#
# Usage: LIMITLAB=path/to/limitlab tests/examples.sh
# Prints "N passed, N failed"; exits 1 on a failed example, 2 when it cannot run.
set -uo pipefail
cd "$(dirname "$0")/.."
LIMITLAB=${LIMITLAB:?set LIMITLAB to the limitlab binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/python-sdk.sh
. tests/python-sdk.sh "$work" || exit 2

passed=0
failed=0
for dir in examples/*/; do
    name=$(basename "$dir")
    [ -f "$dir/scenario.yaml" ] && [ -f "$dir/client.py" ] || continue
    args=(--timeout 60s --out ".build/examples/$name" --quiet)
    [ -f "$dir/baseline.json" ] && args+=(--baseline "$dir/baseline.json")
    if "$LIMITLAB" test "$dir/scenario.yaml" "${args[@]}" -- "$PYTHON" "$dir/client.py" >"$work/out" 2>&1; then
        passed=$((passed + 1)); echo "ok   example $name"
    else
        code=$?
        failed=$((failed + 1)); echo "FAIL example $name (limitlab test exited $code; report in .build/examples/$name/)"
        sed 's/^/     /' "$work/out" | head -30
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
