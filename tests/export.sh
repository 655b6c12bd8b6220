#!/usr/bin/env bash
# `limitlab export`: bad input exits 2 and never replaces a file; every format's output parses
# (python3 -m py_compile, node --check); and the bar — the exported tenacity and aiolimiter
# clients of tests/export/scenario.yaml, run against the mock through `limitlab test`, get a
# 429 share and a success rate the simulator predicts for that scenario and strategy.
#
# The simulator runs the scenario over REPLICATIONS seeds (`limitlab run --replications`); its
# report.json `replication` section holds the 95 % interval of the across-seed mean and every
# seed's figures. One live run is one draw, not a mean: an interval for the mean shrinks as
# 1/√n and a single honest run falls outside it about half the time at n = 20. So the gate is
# the interval the replications give for one more run, mean ± t(0.975, n−1)·s·√(1 + 1/n)
# (Student t prediction interval); the interval of the mean is printed beside it.
#
# Same arrivals: the exported client's main replays the scenario's arrival schedule (seed 1,
# the first replication's), open loop, so the comparison is of the strategy, not of the load.
#
# Usage: LIMITLAB=path/to/limitlab tests/export.sh   (REPLICATIONS=20 by default)
# Prints "N passed, N failed"; exits 1 on a failure, 2 when it cannot run.
set -uo pipefail
cd "$(dirname "$0")/.."
LIMITLAB=${LIMITLAB:?set LIMITLAB to the limitlab binary}
REPLICATIONS=${REPLICATIONS:-20}
scenario=tests/export/scenario.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/python-sdk.sh
. tests/python-sdk.sh "$work" || exit 2
if ! "$PYTHON" -c 'import tenacity, aiolimiter' 2>/dev/null; then
    echo "installing tenacity and aiolimiter from PyPI" >&2
    "$PYTHON" -m pip install --quiet --disable-pip-version-check tenacity aiolimiter >&2 ||
        { echo "cannot install tenacity and aiolimiter" >&2; exit 2; }
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$work/err" ] && sed 's/^/     /' "$work/err" | head -20; }

# expect_exit CODE WHAT ARGS...: limitlab ARGS exits CODE with a message on stderr.
expect_exit() {
    local want=$1 what=$2; shift 2
    "$LIMITLAB" "$@" >"$work/out" 2>"$work/err"
    local code=$?
    if [ "$code" -eq "$want" ] && [ -s "$work/err" ]; then ok "$what (exit $code: $(head -1 "$work/err" | cut -c1-90))"
    else fail "$what: expected exit $want with a message, got $code"; fi
}

expect_exit 2 "unknown strategy" export no-such-strategy "$scenario" --as tenacity
expect_exit 2 "unknown format" export tenacity "$scenario" --as cobol
expect_exit 2 "a limiter as tenacity (unmappable)" export aiolimiter "$scenario" --as tenacity
expect_exit 2 "a tier-sized limiter without a scenario" export token-bucket --as aiolimiter
echo "keep me" >"$work/existing.py"
expect_exit 2 "--out never replaces a file" export tenacity "$scenario" --as tenacity --out "$work/existing.py"
[ "$(cat "$work/existing.py")" = "keep me" ] && ok "the existing file is untouched" || fail "--out replaced the file"

# Every format writes a file that parses, and lists what it cannot carry on stderr.
export_one() { # LABEL FORMAT FILE [SCENARIO]
    "$LIMITLAB" export "$1" ${4:+"$4"} --as "$2" --out "$3" 2>"$work/err"
}
for spec in "tenacity tenacity" "aiolimiter aiolimiter" "sdk-default anthropic-python" "aiolimiter bottleneck"; do
    set -- $spec
    ext=py; [ "$2" = bottleneck ] && ext=js
    file="$work/$1-$2.$ext"
    if ! export_one "$1" "$2" "$file" "$scenario"; then fail "export $1 --as $2: exit $?"; continue; fi
    grep -q "limitlab export: \(not carried over\|every parameter\)" "$work/err" ||
        { fail "export $1 --as $2 says nothing on stderr about what is carried"; continue; }
    if [ "$2" = bottleneck ]; then
        if command -v node >/dev/null; then
            node --check "$file" 2>"$work/err" && ok "export $1 --as $2: node --check passes" || fail "export $1 --as $2: node --check"
        else
            echo "skip export $1 --as $2: no node to check it"
        fi
    else
        "$PYTHON" -m py_compile "$file" 2>"$work/err" && ok "export $1 --as $2: compiles" || fail "export $1 --as $2: py_compile"
    fi
done
# The header lists the bottleneck export's gap (a continuous refill on Bottleneck's heartbeat).
grep -q "heartbeat" "$work/aiolimiter-bottleneck.js" && ok "bottleneck export lists the heartbeat refill it cannot carry" ||
    fail "bottleneck export does not list the heartbeat refill"

# The full-jitter mapping against the installed tenacity itself: limitlab's full-jitter sleeps
# U(0, min(cap, base · 2^n)) after failure n (base 250 ms, cap 4 s here); the exported wait must
# draw from the same range, reaching near its top.
if "$PYTHON" - "$work/tenacity-tenacity.py" >"$work/err" 2>&1 <<'PY'
import importlib.util, sys
from tenacity import RetryCallState, Retrying
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
wait = module.RETRY_SETTINGS["wait"]
for n in range(1, 6):
    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = n
    ceiling = min(4.0, 0.25 * 2 ** n)
    draws = [wait(state) for _ in range(4000)]
    assert 0 <= min(draws) and max(draws) <= ceiling, (n, min(draws), max(draws), ceiling)
    assert max(draws) > 0.97 * ceiling and min(draws) < 0.03 * ceiling, (n, min(draws), max(draws), ceiling)
    mean = sum(draws) / len(draws)
    assert abs(mean - ceiling / 2) < 0.05 * ceiling, (n, mean, ceiling)
PY
then ok "the exported tenacity wait draws U(0, min(4 s, 0.25 s · 2^n)), as limitlab's full-jitter"
else fail "the exported tenacity wait is not limitlab's full-jitter"; fi

# The aiolimiter export of a 720-RPM, 1 s token bucket with 8 in flight and the SDK's retry
# (4 retries): AsyncLimiter(12, 1), Semaphore(8), and the SDK's rule — retry-after exactly, else
# min(0.5 · 2^(n−1), 8) · (1 − 0.25·U), nothing after the fifth attempt or on a 400.
if "$PYTHON" - "$work/aiolimiter-aiolimiter.py" >"$work/err" 2>&1 <<'PY'
import importlib.util, sys
import anthropic, httpx
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert (module.REQUESTS.max_rate, module.REQUESTS.time_period) == (12.0, 1.0), vars(module.REQUESTS)
assert module.CONCURRENCY._value == 8
def error(status, headers):
    response = httpx.Response(status, headers=headers, request=httpx.Request("POST", "http://mock/v1/messages"))
    return anthropic.APIStatusError("refused", response=response, body=None)
assert module.backoff(1, error(429, {"retry-after": "1"})) == 1.0
for n in (1, 2, 3, 4):
    waits = [module.backoff(n, error(429, {})) for _ in range(500)]
    top = min(0.5 * 2 ** (n - 1), 8.0)
    assert all(0.75 * top <= w <= top for w in waits), (n, min(waits), max(waits))
assert module.backoff(5, error(429, {"retry-after": "1"})) is None
assert module.backoff(1, error(400, {})) is None
assert module.backoff(1, error(400, {"x-should-retry": "true"})) is not None
PY
then ok "the exported aiolimiter client holds AsyncLimiter(12, 1), Semaphore(8) and the SDK's retry rule"
else fail "the exported aiolimiter client's limiter or retry rule"; fi

# The bar. The simulator over REPLICATIONS seeds...
rm -f "$work/err"
if ! "$LIMITLAB" run "$scenario" --replications "$REPLICATIONS" --out "$work/sim" --quiet >"$work/err" 2>&1; then
    fail "limitlab run --replications $REPLICATIONS"
else
    # ...and each exported client, live against the mock, replaying the scenario's arrivals.
    for label in tenacity aiolimiter; do
        started=$(date +%s)
        "$LIMITLAB" test "$scenario" --timeout 90s --out "$work/live-$label" --quiet -- \
            "$PYTHON" "$work/$label-$label.py" >"$work/err" 2>&1
        code=$?
        if [ "$code" -ne 0 ]; then fail "limitlab test -- python3 exported $label client: exit $code"; continue; fi
        echo "     $label: live run took $(( $(date +%s) - started )) s"
        if "$PYTHON" - "$work/sim/report.json" "$work/live-$label/report.json" "$label" >"$work/cmp" 2>&1 <<'PY'
import json, math, statistics, sys

sim, live, label = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
rep = sim["replication"]
per_seed = [r for r in rep["replications"] if r["strategy"] == label]
summary = next(s for s in rep["summary"] if s["strategy"] == label)
run = live["runs"][0]["summary"]
# The first seed's run has exactly the arrivals the exported client replays.
same = next(r["summary"] for r in sim["runs"] if r["strategy"] == label)
n = len(per_seed)
ok = True
for key, name in (("rate_429", "429 share"), ("success_rate", "success rate")):
    xs = [r[key] for r in per_seed]
    mean, s = statistics.mean(xs), statistics.stdev(xs)
    ci = summary[key]
    # The report's interval of the mean is mean ± t·s/√n (clipped to 0–1 on at most one side);
    # one more run's interval is the same t·s times √(1 + 1/n), i.e. the half-width times √(n + 1).
    half = max(ci["mean"] - ci["low"], ci["high"] - ci["mean"]) * math.sqrt(n + 1)
    plo, phi = max(0.0, mean - half), min(1.0, mean + half)
    value = run[key]
    inside = plo - 1e-12 <= value <= phi + 1e-12
    in_mean = ci["low"] - 1e-12 <= value <= ci["high"] + 1e-12
    ok &= inside
    print(f"{label:10s} {name:12s} live {value:.4f}  simulated mean {mean:.4f}, one-run 95% interval "
          f"[{plo:.4f}, {phi:.4f}] {'inside' if inside else 'OUTSIDE'}; interval of the mean "
          f"[{ci['low']:.4f}, {ci['high']:.4f}] {'inside' if in_mean else 'outside'} (n = {n}, seeds' sd {s:.4f}); "
          f"simulated with the same arrivals (seed {rep['seeds'][0]}) {same[key]:.4f}")
sys.exit(0 if ok else 1)
PY
        then ok "exported $label client agrees with the simulator"; sed 's/^/     /' "$work/cmp"
        else fail "exported $label client vs the simulator"; sed 's/^/     /' "$work/cmp"; fi
    done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
