#!/usr/bin/env bash
# Runs every example in examples/*/ through `limitlab test`: its client against the mock with
# its scenario's limits, checked against the scenario's thresholds and, when the example has
# one, its committed baseline.json. Reports go to .build/examples/<name>/. The agent loop's
# recording must hold conversations × (tool rounds + 1) requests.
#
# Then the regression bar for examples/aiolimiter-queue: with its limiter's rate doubled
# (--rpm 2400) and with the limiter removed (--rpm 0), `limitlab test --baseline` must exit 3
# naming a failed metric; the unchanged client must pass against its baseline five runs in a
# row (the first loop's run and four more).
#
# Goodput is allowed 10 % below the baseline: it is wall-clock throughput, and a limiter-paced
# client's bootstrap interval is a single point, so a slower machine would fail it otherwise.
#
# Installs the Python packages the clients need (anthropic, tenacity, aiolimiter) from PyPI
# when they are not importable, into a private venv when the system Python refuses.
#
# Usage: LIMITLAB=path/to/limitlab tests/examples.sh
# Prints "N passed, N failed"; exits 1 on a failed example or check, 2 when it cannot run.
set -uo pipefail
cd "$(dirname "$0")/.."
LIMITLAB=${LIMITLAB:?set LIMITLAB to the limitlab binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/python-sdk.sh
. tests/python-sdk.sh "$work" || exit 2

# The examples' own packages, installed the way tests/python-sdk.sh installs the SDK.
if ! "$PYTHON" -c 'import tenacity, aiolimiter' 2>/dev/null; then
    echo "installing tenacity and aiolimiter from PyPI" >&2
    if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check tenacity aiolimiter >&2; then
        if [ "$PYTHON" != "$work/venv/bin/python" ]; then
            "$PYTHON" -m venv "$work/venv" && PYTHON="$work/venv/bin/python"
        fi
        "$PYTHON" -m pip install --quiet --disable-pip-version-check anthropic tenacity aiolimiter >&2 ||
            { echo "cannot install tenacity and aiolimiter" >&2; exit 2; }
    fi
fi

passed=0
failed=0
# Runs one example with extra client arguments; sets code to limitlab test's exit code and
# leaves its output in $work/out.
run_example() {
    local name=$1; shift
    local dir=examples/$name
    local args=(--timeout 60s --out ".build/examples/$name" --quiet)
    [ -f "$dir/baseline.json" ] && args+=(--baseline "$dir/baseline.json" --max-regression goodput=10%)
    rm -rf ".build/examples/$name"
    "$LIMITLAB" test "$dir/scenario.yaml" "${args[@]}" -- "$PYTHON" "$dir/client.py" "$@" >"$work/out" 2>&1
    code=$?
}
fail() {
    failed=$((failed + 1)); echo "FAIL $1"
    sed 's/^/     /' "$work/out" | head -30
}

for dir in examples/*/; do
    name=$(basename "$dir")
    [ -f "$dir/scenario.yaml" ] && [ -f "$dir/client.py" ] || continue
    run_example "$name"
    if [ "$code" -eq 0 ]; then
        passed=$((passed + 1)); echo "ok   example $name"
    else
        fail "example $name (limitlab test exited $code; report in .build/examples/$name/)"
    fi
done

# The agent loop makes the requests its tool rounds imply: the server recorded conversations ×
# (rounds + 1) Messages requests, rounds being the scenario's server.tool_use, and the client
# saw every conversation take exactly that many tool rounds.
agent_requests() {
    local dir=.build/examples/agent-loop
    local rounds
    rounds=$(sed -n 's/^ *tool_use: *{ *rounds: *\([0-9][0-9]*\) *}.*/\1/p' examples/agent-loop/scenario.yaml)
    python3 - "$dir" "$rounds" <<'PY'
import json, re, sys
d, rounds = sys.argv[1], int(sys.argv[2])
out = open(f"{d}/cmd-stdout.txt").read()
m = re.search(r"agent-loop: (\d+) conversations, (\d+) tool rounds each, (\d+) requests", out)
assert m, f"no summary line in the client's output: {out!r}"
conversations, seen, sent = map(int, m.groups())
assert seen == rounds, f"the client saw {seen} tool rounds per conversation, the scenario sets {rounds}"
rows = [json.loads(l) for l in open(f"{d}/recording.jsonl").read().splitlines()[1:] if l.strip()]
messages = [r for r in rows if r.get("endpoint") == "messages"]
answered = [r for r in messages if r["status"] == 200]
want = conversations * (rounds + 1)
assert len(answered) == want == sent, \
    f"{len(answered)} answered Messages requests recorded ({len(messages)} in all), client sent {sent}, want {want}"
print(f"{conversations} conversations x ({rounds} rounds + 1) = {want} requests recorded")
PY
}
if agent_requests >"$work/agent" 2>&1; then
    passed=$((passed + 1)); echo "ok   agent-loop: $(tail -1 "$work/agent")"
else
    failed=$((failed + 1)); echo "FAIL agent-loop: requests = conversations x (rounds + 1)"; sed 's/^/     /' "$work/agent" | tail -5
fi

# A planted regression must fail the baseline with exit 3 and name the metric that regressed.
for planted in "--rpm 2400:rate doubled" "--rpm 0:limiter removed"; do
    arg=${planted%%:*}; what=${planted#*:}
    # shellcheck disable=SC2086 # arg is two words on purpose
    run_example aiolimiter-queue $arg
    metric=$(grep -oE '^FAIL +regression +client +(rate_429|attempts_per_success|latency\.p99)' "$work/out" | awk '{print $4}' | paste -sd, -)
    if [ "$code" -eq 3 ] && [ -n "$metric" ]; then
        passed=$((passed + 1)); echo "ok   aiolimiter-queue, $what: exit 3, $metric regressed"
    else
        fail "aiolimiter-queue, $what ($arg): expected exit 3 naming rate_429, attempts_per_success or latency.p99, got exit $code"
    fi
done

# The unchanged example passes against its own baseline: four more runs after the loop's one.
streak=0
for run in 2 3 4 5; do
    run_example aiolimiter-queue
    if [ "$code" -eq 0 ]; then
        streak=$((streak + 1))
    else
        fail "aiolimiter-queue unchanged, run $run of 5: limitlab test exited $code"
        break
    fi
done
[ "$streak" -eq 4 ] && { passed=$((passed + 1)); echo "ok   aiolimiter-queue unchanged: 4 more passes against its baseline"; }

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
