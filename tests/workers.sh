#!/usr/bin/env bash
# End-to-end: `limitlab run --workers 4 --redis URL` against the embedded mock. Four worker
# processes at Tier 1, offered ~5× the organisation's RPM for 30 s: per-worker token buckets
# sized from the full limit get 429s; the shared bucket in Redis gets none; every request is
# recorded once, by the worker it was dealt to. Then Redis is killed mid-run: no worker
# crashes and no request is lost. A parent killed with SIGKILL takes its workers with it.
# Starts its own redis-server (fails, not skips, without one:
# `make setup-test` installs it). Prints "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${LIMITLAB:-.build/debug/limitlab}
TMP=$(mktemp -d)
REDIS_PID=
cleanup() { [ -n "$REDIS_PID" ] && kill -9 "$REDIS_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ $# -gt 1 ] && echo "     $2"; }

command -v redis-server >/dev/null || { echo "FAIL redis-server is not installed: run \`make setup-test\`"; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_redis() {
    redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$TMP" \
        --logfile "$TMP/redis.log" &
    REDIS_PID=$!
    disown "$REDIS_PID"  # no "Killed" notice when the test kills it
    for _ in $(seq 100); do redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done
    echo "FAIL redis-server did not start"; cat "$TMP/redis.log"; exit 1
}
start_redis

cat > "$TMP/workers.yaml" <<'YAML'
name: workers-e2e
seed: 3
model: claude-sonnet-4-5
limits: {tier: tier-1}
duration: 30s
arrivals: [{process: poisson, rate: 240/min}]
workload: {input_tokens: 400, output_tokens: 50, max_tokens: 256}
server: {ttft: 50ms, output_rate: 1000/s}
strategies:
  - {name: token-bucket, label: local-full-limit, params: {max_wait: 5s}}
  # The queue may wait longer than a full round of the 4 workers (4 × 1.2 s at 50 RPM), so each
  # worker's head can reserve its turn and service follows the offered shares (Jain's index).
  - {name: shared-token-bucket, label: shared-bucket, params: {max_wait: 60s, fallback: local}}
  # Short queue for the Redis-kill run: most requests are dropped quickly, the run stays short.
  - {name: shared-token-bucket, label: shared-short, params: {max_wait: 5s, fallback: local}}
YAML

# 1. Local buckets versus the shared bucket, 4 worker processes.
if "$BIN" run "$TMP/workers.yaml" --target mock --workers 4 --redis "redis://127.0.0.1:$PORT" \
    --strategies local-full-limit,shared-bucket --out "$TMP/run" \
    >"$TMP/run.out" 2>"$TMP/run.err"; then ok "run --workers 4 --redis exits 0"; else fail "run --workers 4 --redis exits 0" "$(tail -5 "$TMP/run.err")"; fi
python3 - "$TMP/run" <<'PY' && ok "merged report: 4 workers, every request once, shared bucket without 429s and Jain ≥ 0.95, local buckets with 429s" || fail "merged report checks"
import csv, json, sys, collections
d = sys.argv[1]
r = json.load(open(f"{d}/report.json"))
runs = {x["strategy"]: x for x in r["runs"]}
n = r["arrivals"]["offered"]
for label, run in runs.items():
    rows = list(csv.DictReader(open(f"{d}/events-{label}.csv")))
    last = {}
    for row in rows: last[int(row["request_id"])] = row
    assert sorted(last) == list(range(n)), f"{label}: requests {len(last)} of {n}"
    assert all(not row["outcome"].startswith("unfinished") for row in last.values()), f"{label}: unfinished requests"
    workers = collections.Counter(row["worker"] for row in last.values())
    assert sorted(workers) == ["0", "1", "2", "3"], f"{label}: workers {workers}"
    assert max(workers.values()) - min(workers.values()) <= 1, f"{label}: round-robin shares {workers}"
    w = run["summary"]["workers"]
    print(f"{label}: 429s {w['overshoot']['status_429']}, overshoot {w['overshoot']['ratio']:.2f}, Jain {w['jain_index']:.3f}")
local = runs["local-full-limit"]["summary"]["workers"]["overshoot"]
shared = runs["shared-bucket"]["summary"]["workers"]["overshoot"]
assert local["status_429"] >= 10 and local["ratio"] > 1.5, local
assert shared["status_429"] == 0 and shared["ratio"] <= 1.05, shared
# Reservations in the store hand out slots in ask order, so the workers take turns. (With a
# max_wait shorter than a round, slots go by chance: docs/shared-quota.md, "Fairness, live".)
jain = runs["shared-bucket"]["summary"]["workers"]["jain_index"]
assert jain >= 0.95, f"shared bucket Jain {jain}"
PY
grep -q "redis://127.0.0.1:$PORT" "$TMP/run.err" && ok "the store is named on stderr" || fail "the store is named on stderr"

# 2. Redis killed mid-run: every worker exits 0 and every request is recorded.
( sleep 12; kill -9 "$REDIS_PID" ) &
killer=$!
if "$BIN" run "$TMP/workers.yaml" --target mock --workers 4 --redis "redis://127.0.0.1:$PORT" --strategies shared-short \
    --out "$TMP/killed" >"$TMP/killed.out" 2>"$TMP/killed.err"; then ok "redis killed mid-run: exit 0"; else fail "redis killed mid-run: exit 0" "$(tail -5 "$TMP/killed.err")"; fi
wait "$killer"
REDIS_PID=
python3 - "$TMP/killed" <<'PY' && ok "redis killed mid-run: no request lost" || fail "redis killed mid-run: no request lost"
import csv, json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/report.json"))
n = r["arrivals"]["offered"]
rows = list(csv.DictReader(open(f"{d}/events-shared-short.csv")))
last = {int(row["request_id"]): row for row in rows}
assert sorted(last) == list(range(n)), f"{len(last)} of {n}"
ends = [row["outcome"].split(":")[0] for row in last.values()]
assert all(e in ("succeeded", "failed", "dropped") for e in ends), set(ends)
print(f"{n} requests: {ends.count('succeeded')} succeeded, {ends.count('dropped')} dropped, {ends.count('failed')} failed")
PY
grep -q "worker .* failed" "$TMP/killed.err" && fail "no worker failed" "$(grep 'worker .* failed' "$TMP/killed.err")" || ok "no worker failed"

# 3. Bad input: an unreachable store fails before anything starts, the password redacted.
"$BIN" run "$TMP/workers.yaml" --target mock --workers 2 --redis "redis://:hunter2@127.0.0.1:$PORT" --out "$TMP/bad" \
    >"$TMP/bad.out" 2>"$TMP/bad.err"
code=$?
[ "$code" -eq 2 ] && grep -q "redis://:\*\*\*@127.0.0.1:$PORT" "$TMP/bad.err" && ! grep -q hunter2 "$TMP/bad.err" \
    && ok "unreachable store: exit 2, password redacted" || fail "unreachable store: exit 2, password redacted" "exit $code: $(cat "$TMP/bad.err")"
"$BIN" run "$TMP/workers.yaml" --workers 2 >"$TMP/sim.out" 2>"$TMP/sim.err"
[ $? -eq 2 ] && grep -q "live target" "$TMP/sim.err" && ok "--workers on the simulator: exit 2" || fail "--workers on the simulator: exit 2"

# 4. The parent killed with SIGKILL: its workers stop too (Linux parent-death signal), each
#    writing a partial result, instead of running on as orphans for the rest of the minute.
cat > "$TMP/orphans.yaml" <<'YAML'
name: orphans
seed: 3
model: claude-sonnet-4-5
limits: {tier: tier-1}
duration: 60s
arrivals: [{process: poisson, rate: 60/min}]
workload: {input_tokens: 100, output_tokens: 20, max_tokens: 64}
server: {ttft: 50ms, output_rate: 1000/s}
strategies: [none]
YAML
"$BIN" run "$TMP/orphans.yaml" --target mock --workers 2 --out "$TMP/orphans" --quiet >"$TMP/orphans.out" 2>&1 &
parent=$!
disown "$parent"  # no "Killed" notice when the test kills it
kids=""
for _ in $(seq 200); do  # up to 20 s for both workers to start
    kids=$(pgrep -P "$parent" | tr '\n' ' ')
    [ "$(echo $kids | wc -w)" -eq 2 ] && break
    sleep 0.1
done
sleep 1  # past the common start: the workers are sending
kill -9 "$parent" 2>/dev/null
alive=""
for _ in $(seq 200); do  # up to 20 s to stop (they finish in-flight requests first)
    alive=""
    for k in $kids; do kill -0 "$k" 2>/dev/null && alive="$alive $k"; done
    [ -z "$alive" ] && break
    sleep 0.1
done
if [ "$(echo $kids | wc -w)" -eq 2 ] && [ -z "$alive" ]; then
    ok "parent killed with SIGKILL: both workers stop"
else
    fail "parent killed with SIGKILL: both workers stop" "workers: '$kids', still running: '$alive'"
    for k in $alive; do kill -9 "$k" 2>/dev/null; done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
