#!/usr/bin/env bash
# Measured figures for the built-in mock server (`limitlab serve`), issue 5's speed bars:
#   1. non-streaming throughput on loopback with wrk, server on one core (200 path and 429 path);
#   2. concurrent streaming responses held, and the server's RSS while they are open.
# Prints each figure with the command that produced it and writes reports/bench/mock.json.
# Loopback only; every load is bounded in time (wrk -d, timeout) and count (-c, --n).
#
# Environment: STREAM_COUNTS (default "1000 10000"), WRK_DURATION (default 10s), WRK_RUNS
# (measured wrk runs per path, median reported; default 3), WRK_CONNECTIONS (default 64), STREAM_HOLD (seconds, default 10), OUT (default reports/bench/mock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

STREAM_COUNTS=${STREAM_COUNTS:-"1000 10000"}
WRK_DURATION=${WRK_DURATION:-10s}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
WRK_RUNS=${WRK_RUNS:-3}
STREAM_HOLD=${STREAM_HOLD:-10}
OUT=${OUT:-reports/bench/mock.json}
WORK=.build-bench/mock-bench
mkdir -p "$WORK" "$(dirname "$OUT")"

say() { printf '%s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  say "mock-bench: installing wrk"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk
fi
for t in taskset python3 curl; do command -v $t >/dev/null || { say "mock-bench: $t missing"; exit 1; }; done
NCPU=$(nproc)
if [ "$NCPU" -lt 2 ]; then say "mock-bench: needs 2 cores (server on core 0, client on core 1)"; exit 1; fi

# Each process needs one descriptor per connection: raise the soft limit as far as allowed.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "mock-bench: ulimit -n $(ulimit -n)"

# --- build -------------------------------------------------------------------------------
swift build -c release --product limitlab --scratch-path .build-bench >&2
BIN="$(swift build -c release --scratch-path .build-bench --show-bin-path)/limitlab"

# --- server ------------------------------------------------------------------------------
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT

# start_server CONFIG: `limitlab serve` pinned to core 0 with one event-loop thread, port 0.
start_server() {
  local cfg=$1 log=$WORK/serve-$(basename "$1" .yaml).log
  SERVER_CMD="taskset -c 0 $BIN serve --config $cfg --host 127.0.0.1 --port 0 --threads 1"
  $SERVER_CMD >"$log" 2>"$log.err" &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 100); do
    PORT=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" | head -1)
    [ -n "$PORT" ] && break
    sleep 0.1
  done
  [ -n "$PORT" ] || { say "mock-bench: server did not start:"; cat "$log.err" >&2; exit 1; }
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# One request with curl first: the status the wrk run is expected to see.
probe() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/v1/messages" \
    -H 'x-api-key: sk-bench' -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
    -H 'x-limitlab-output-tokens: 10' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}'
}

# run_wrk NAME CONFIG: a 2 s warm-up, then the measured run. Sets WRK_RESULT (JSON).
run_wrk() {
  local name=$1 cfg=$2
  start_server "$cfg"
  local first; first=$(probe)
  local url="http://127.0.0.1:$PORT/v1/messages"
  timeout 20 taskset -c 1 wrk -t1 -c"$WRK_CONNECTIONS" -d2s -s bench/messages.lua "$url" >/dev/null
  local rss0; rss0=$(rss_kib "$SERVER_PID")
  local cmd="taskset -c 1 wrk -t1 -c$WRK_CONNECTIONS -d$WRK_DURATION --latency -s bench/messages.lua $url"
  local j="" out r
  for r in $(seq "$WRK_RUNS"); do   # the same server, WRK_RUNS measured runs; the median is the figure
    out=$(timeout 120 $cmd)
    printf '%s\n' "$out" | grep -v '^WRKJSON' >&2
    j="$j$(printf '%s\n' "$out" | sed -n 's/^WRKJSON //p')"$'\n'
  done
  local rss1; rss1=$(rss_kib "$SERVER_PID")
  WRK_RESULT=$(python3 bench/mock_report.py wrk "$j" "$name" "$SERVER_CMD" "$cmd" "$first" "$rss0" "$rss1")
  stop_server
}

# --- 1. non-streaming throughput ----------------------------------------------------------
run_wrk "non-streaming 200 path (limits 1e9, ttft 0ms)" bench/mock-200.yaml; R200=$WRK_RESULT
run_wrk "non-streaming 429 path (rpm 1, reject_latency 0ms)" bench/mock-429.yaml; R429=$WRK_RESULT

# --- 2. concurrent streams held -------------------------------------------------------------
STREAMS="[]"
for n in $STREAM_COUNTS; do
  start_server bench/mock-stream.yaml
  cmd="taskset -c 1 python3 bench/stream_hold.py --port $PORT --pid $SERVER_PID --n $n --output-tokens 3600 --hold $STREAM_HOLD"
  # Bounded: open-timeout 120 s + settle 3 s + hold + closing; timeout kills it past that.
  j=$(timeout $((180 + STREAM_HOLD)) $cmd) || { say "mock-bench: stream run n=$n failed"; stop_server; continue; }
  sleep 2   # the server should have dropped every stream the client closed
  after=$(rss_kib "$SERVER_PID" || echo 0)
  inflight=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | awk '/^limitlab_mock_in_flight/ {s += $NF} END {print s + 0}')
  stop_server
  STREAMS=$(python3 bench/mock_report.py stream "$STREAMS" "$j" "$SERVER_CMD" "$cmd" "$after" "$inflight")
done

# --- report --------------------------------------------------------------------------------
python3 bench/mock_report.py final "$OUT" "$R200" "$R429" "$STREAMS"
