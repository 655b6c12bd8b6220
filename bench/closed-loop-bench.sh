#!/usr/bin/env bash
# Closed-loop peers (issue 8): the highest request rate wrk and Locust (PyPI, headless,
# FastHttpUser, one process) drive against the mock's 200 path (bench/mock-200.yaml: limits that
# never bind, no latency), mock pinned to core 0 with one event-loop thread, client on core 1.
# limitlab's own closed-loop figure (live.closed-loop.rps) comes from bench/live-bench.sh; the
# renderer puts the ratios limitlab ÷ wrk and limitlab ÷ Locust next to it.
# Writes reports/bench/closed-loop.json (limitlab.bench/1). Loopback only; bounded by durations.
#
# Environment: CONNECTIONS (concurrent connections / users, default 64), DURATION (seconds per
# run, default 10), RUNS (median of, default 3), OUT (default reports/bench/closed-loop.json).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
OUT=${OUT:-reports/bench/closed-loop.json}
WORK=.build-bench/closed-loop-bench
mkdir -p "$WORK" "$(dirname "$OUT")"
say() { printf '%s\n' "$*" >&2; }

command -v wrk >/dev/null || { say "closed-loop-bench: wrk missing (apt-get install wrk)"; exit 1; }
python3 -c 'import locust' 2>/dev/null || { say "closed-loop-bench: installing locust"; python3 -m pip install --quiet locust; }
ulimit -n 65536 2>/dev/null || true

nice -n 10 swift build -c release --product limitlab --scratch-path .build-bench >&2
BIN=.build-bench/release/limitlab   # the same binary as --show-bin-path, shorter in the printed commands

source bench/mock-server.sh
trap stop_server EXIT
start_server bench/mock-200.yaml
URL="http://127.0.0.1:$PORT"

# wrk: a 2 s warm-up, then RUNS runs.
timeout 20 taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -s bench/messages.lua "$URL/v1/messages" >/dev/null
WRK_CMD="taskset -c 1 wrk -t1 -c$CONNECTIONS -d${DURATION}s -s bench/messages.lua $URL/v1/messages"
: > "$WORK/wrk.jsonl"
for _ in $(seq "$RUNS"); do
  say "+ $WRK_CMD"
  out=$(timeout $((DURATION + 60)) $WRK_CMD) || true
  printf '%s\n' "$out" | grep -v '^WRKJSON' >&2   # not tee /dev/stderr: that reopens (truncates) a log file
  printf '%s\n' "$out" | sed -n 's/^WRKJSON //p' >> "$WORK/wrk.jsonl"
done

# Locust: one process on the client core, CONNECTIONS users spawned at once, statistics reset
# once they are all running, no wait between requests.
LOCUST_CMD="taskset -c 1 locust -f bench/locustfile.py --headless -u $CONNECTIONS -r $CONNECTIONS -t ${DURATION}s --host $URL --only-summary --reset-stats --json --loglevel WARNING"
: > "$WORK/locust.jsonl"
for i in $(seq "$RUNS"); do
  say "+ $LOCUST_CMD"
  timeout $((DURATION + 60)) $LOCUST_CMD > "$WORK/locust-$i.json" 2> "$WORK/locust-$i.err" || true
  python3 - "$WORK/locust-$i.json" >> "$WORK/locust.jsonl" <<'EOF'
import json, sys
try:
    rows = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit(0)
n = sum(r["num_requests"] for r in rows)
fails = sum(r["num_failures"] for r in rows)
t0 = min(r["start_time"] for r in rows); t1 = max(r["last_request_timestamp"] for r in rows)
print(json.dumps({"requests": n, "failures": fails, "seconds": t1 - t0, "req_per_s": n / (t1 - t0) if t1 > t0 else 0}))
EOF
  tail -n 1 "$WORK/locust.jsonl" >&2
done
LOCUST_VERSION=$(python3 -c 'import locust; print(locust.__version__)')
stop_server

python3 - "$OUT" "$WORK" "$SERVER_CMD" "$WRK_CMD" "$LOCUST_CMD" "$LOCUST_VERSION" "$CONNECTIONS" <<'EOF'
import json, os, statistics, subprocess, sys
sys.path.insert(0, "bench")
import benchlib
out, work, server, wrk_cmd, locust_cmd, locust_version, conns = sys.argv[1:8]
def runs(name):
    with open(os.path.join(work, name)) as f:
        return [json.loads(l) for l in f if l.strip()]
w, l = runs("wrk.jsonl"), runs("locust.jsonl")
wrk_version = subprocess.run("wrk -v 2>&1 | head -1", shell=True, capture_output=True, text=True).stdout.split(" [")[0].strip()
figs = []
if w:
    v = statistics.median(r["req_per_s"] for r in w)
    figs.append(benchlib.figure("closed-loop.wrk.rps", f"{wrk_version}: closed-loop requests per second against the mock's 200 path, "
                                f"{conns} connections, one thread (median of {len(w)}; non-2xx {sum(r['non_2xx'] for r in w)})",
                                v, "req/s", f"{server} & {wrk_cmd} (all of it: bash bench/closed-loop-bench.sh)"))
if l:
    v = statistics.median(r["req_per_s"] for r in l)
    figs.append(benchlib.figure("closed-loop.locust.rps", f"Locust {locust_version} FastHttpUser: closed-loop requests per second, "
                                f"{conns} users, one process (median of {len(l)}; failures {sum(r['failures'] for r in l)})",
                                v, "req/s", f"{server} & {locust_cmd} (all of it: bash bench/closed-loop-bench.sh)"))
benchlib.write(out, benchlib.suite("closed-loop", figs, wrk_runs=w, locust_runs=l))
for f in figs:
    print(f"== {f['id']}: {f['value']:,.0f} {f['unit']}", file=sys.stderr)
EOF
