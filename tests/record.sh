#!/usr/bin/env bash
# End-to-end checks of the recording mock and `limitlab test`:
#   - `limitlab test` with examples/sdk-retries writes a report from the recording and passes;
#     the recording names keys by label, never the key itself;
#   - a failing command, a timed-out one and one stopped by SIGINT exit 5 with the report and
#     the command's output kept; a failed threshold exits 3;
#   - `serve --record` killed with SIGKILL under load leaves a recording `limitlab report`
#     reads, missing at most the last second of answered requests.
#
# Usage: LIMITLAB=path/to/limitlab tests/record.sh
# Prints "N passed, N failed"; exits 1 on a failed check, 2 when it cannot run.
set -uo pipefail
cd "$(dirname "$0")/.."
LIMITLAB=${LIMITLAB:?set LIMITLAB to the limitlab binary}
work=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=tests/python-sdk.sh
. tests/python-sdk.sh "$work" || exit 2

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$work/log" ] && sed 's/^/     /' "$work/log" | tail -20; }
example=examples/sdk-retries

# 1. The example passes, with every report file and a recording without the key.
"$LIMITLAB" test "$example/scenario.yaml" --out "$work/pass" --timeout 60s -- "$PYTHON" "$example/client.py" >"$work/log" 2>&1
code=$?
if [ "$code" -eq 0 ] && [ -s "$work/pass/report.html" ] && [ -s "$work/pass/summary.md" ] &&
    "$PYTHON" - "$work/pass" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/report.json"))
rec = r["recording"]
assert r["scenario"]["target"] == "recording", r["scenario"]["target"]
assert rec["messages_rows"] >= 40, rec
s = r["runs"][0]["summary"]
assert s["requests"]["offered"] == 40, s["requests"]   # the client's 40 requests, retries chained
assert "sdk" in open(f"{d}/cmd-stdout.txt").read()
text = open(f"{d}/recording.jsonl").read()
assert text.startswith('{') and '"schema":"limitlab.recording/1"' in text.splitlines()[0]
assert "sk-limitlab-mock" not in text and '"key":"key-1"' in text
PY
then ok "limitlab test runs the sdk-retries example and reports from the recording"
else fail "limitlab test on the example (exit $code)"; fi

# 1b. The same recording gives the same report (apart from generated_at).
"$LIMITLAB" report "$work/pass" --scenario "$example/scenario.yaml" --out "$work/again" --quiet >"$work/log" 2>&1
if cmp -s <(grep -v generated_at "$work/pass/report.json") <(grep -v generated_at "$work/again/report.json"); then
    ok "limitlab report of the same recording is deterministic"
else fail "report of the same recording differs"; fi

# 2. A failing command: exit 5, its stderr kept, the report still written.
"$LIMITLAB" test "$example/scenario.yaml" --out "$work/fail" --quiet -- \
    "$PYTHON" -c 'import sys; print("client blew up", file=sys.stderr); sys.exit(7)' >"$work/log" 2>&1
code=$?
if [ "$code" -eq 5 ] && grep -q "client blew up" "$work/fail/cmd-stderr.txt" && [ -s "$work/fail/report.json" ] &&
    grep -q "exited with status 7" "$work/log"; then
    ok "a failing command exits 5 with its output and the report kept"
else fail "failing command (exit $code, wanted 5)"; fi

# 2b. The command sees the mock's URL and key, and no bearer token from the caller's environment.
ANTHROPIC_AUTH_TOKEN=sk-real-token "$LIMITLAB" test "$example/scenario.yaml" --out "$work/env" --quiet -- \
    sh -c 'echo "$ANTHROPIC_BASE_URL $ANTHROPIC_API_KEY ${ANTHROPIC_AUTH_TOKEN:-none}"' >"$work/log" 2>&1
if grep -Eq '^http://127\.0\.0\.1:[0-9]+ sk-limitlab-mock-0 none$' "$work/env/cmd-stdout.txt"; then
    ok "the command gets ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY, and no ANTHROPIC_AUTH_TOKEN"
else fail "command environment: $(cat "$work/env/cmd-stdout.txt" 2>/dev/null)"; fi

# 3. A command past --timeout: stopped, exit 5.
start=$(date +%s)
"$LIMITLAB" test "$example/scenario.yaml" --out "$work/slow" --quiet --timeout 1s -- sleep 30 >"$work/log" 2>&1
code=$?
took=$(( $(date +%s) - start ))
if [ "$code" -eq 5 ] && [ "$took" -lt 15 ] && grep -q "did not finish within" "$work/log"; then
    ok "a command past --timeout is stopped and exits 5 (${took}s)"
else fail "timeout (exit $code after ${took}s)"; fi

# 4. SIGINT to limitlab test: the command is stopped, the report written, exit 5.
"$LIMITLAB" test "$example/scenario.yaml" --out "$work/int" --quiet -- sleep 30 >"$work/log" 2>&1 &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"
code=$?
pid=""
if [ "$code" -eq 5 ] && [ -s "$work/int/report.json" ]; then ok "SIGINT stops the command and still writes the report"
else fail "SIGINT (exit $code, wanted 5)"; fi

# 5. A threshold the client cannot meet: exit 3 naming the metric.
sed 's/"latency.p99 < 30s"/"latency.p99 < 1ms"/' "$example/scenario.yaml" >"$work/strict.yaml"
"$LIMITLAB" test "$work/strict.yaml" --out "$work/strict" -- "$PYTHON" "$example/client.py" >"$work/log" 2>&1
code=$?
if [ "$code" -eq 3 ] && grep -q "FAIL .*latency.p99" "$work/log"; then ok "a failed threshold exits 3 naming the metric"
else fail "strict threshold (exit $code, wanted 3)"; fi

# 6. serve --record killed with SIGKILL mid-traffic: the recording is readable and holds every
#    request answered more than a second before the kill.
cat >"$work/fast.yaml" <<'YAML'
orgs:
  - id: org-load
    keys: []
    any_key: true
    limits: {tier: tier-4}
server:
  ttft: 2ms
  output_rate: 5000/s
  reject_latency: 0ms
YAML
"$LIMITLAB" serve --port 0 --config "$work/fast.yaml" --record "$work/killed" >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
url=""
for _ in $(seq 200); do
    line=$(head -n 1 "$work/serve.out")
    case "$line" in "listening on "*) url=${line#listening on }; break ;; esac
    sleep 0.05
done
if [ -z "$url" ]; then
    fail "serve --record did not start"
else
    "$PYTHON" - "$url" "$work/answered" <<'PY' &
import http.client, json, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
with open(sys.argv[2], "w") as out:
    while True:
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
            c.request("POST", "/v1/messages", body, {"x-api-key": "sk-load", "anthropic-version": "2023-06-01",
                                                     "content-type": "application/json"})
            c.getresponse().read()
            out.write(f"{time.time()}\n"); out.flush()
        except Exception:
            break
PY
    client=$!
    sleep 3
    killed_at=$(date +%s.%N)
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    pid=""
    wait "$client" 2>/dev/null
    "$LIMITLAB" report "$work/killed" --out "$work/killed-report" >"$work/log" 2>&1
    code=$?
    if [ "$code" -eq 0 ] && "$PYTHON" - "$work/killed/recording.jsonl" "$work/answered" "$killed_at" <<'PY'
import sys
rows = [l for l in open(sys.argv[1]).read().split("\n")[1:] if l.startswith('{"at"')]
answered = [float(t) for t in open(sys.argv[2]).read().split()]
killed = float(sys.argv[3])
due = sum(1 for t in answered if t <= killed - 1.0)
print(f"{len(rows)} rows recorded, {len(answered)} answered, {due} answered > 1 s before the kill")
assert due > 0 and len(rows) >= due, (len(rows), due)
PY
    then ok "a SIGKILLed serve --record leaves a readable recording missing at most the last second"
    else fail "SIGKILL recording (report exit $code)"; fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
