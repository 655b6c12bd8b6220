#!/usr/bin/env bash
# Measured figures for the built-in mock server (`limitlab serve`), issue 5's speed bars:
#   1. non-streaming throughput on loopback with wrk, server on one core (200 path and 429 path);
#   2. concurrent streaming responses held, and the server's RSS while they are open;
#   1b. the 200 path again with `--record` (the recording may cost at most 15 %);
#   3. the peer (issue 8): nginx (Debian nginx-light) on the same core answering the same wrk
#      load with the same status, headers and body bytes from a static file (bench/nginx.sh).
# Prints each figure with the command that produced it and writes reports/bench/mock.json
# (limitlab.bench/1 figures, with the detailed runs under extra keys).
# Loopback only; every load is bounded in time (wrk -d, timeout) and count (-c, --n).
#
# Environment: STREAM_COUNTS (default "1000 10000"), WRK_DURATION (default 10s), WRK_RUNS
# (measured wrk runs per path, median reported; default 3), WRK_CONNECTIONS (default 64), STREAM_HOLD (seconds, default 10), OUT (default reports/bench/mock.json),
# NGINX (1: also the nginx peer, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

STREAM_COUNTS=${STREAM_COUNTS:-"1000 10000"}
WRK_DURATION=${WRK_DURATION:-10s}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
WRK_RUNS=${WRK_RUNS:-3}
STREAM_HOLD=${STREAM_HOLD:-10}
OUT=${OUT:-reports/bench/mock.json}
NGINX=${NGINX:-1}
WORK=.build-bench/mock-bench
mkdir -p "$WORK" "$(dirname "$OUT")"

say() { printf '%s\n' "$*" >&2; }
source bench/nginx.sh

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
nice -n 10 swift build -c release --product limitlab --scratch-path .build-bench >&2
BIN=.build-bench/release/limitlab   # the same binary as --show-bin-path, shorter in the printed commands
[ "$NGINX" = 1 ] && ensure_nginx

# --- server ------------------------------------------------------------------------------
source bench/mock-server.sh
trap 'stop_server; nginx_stop' EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# One request with curl: its status (and, in $WORK/probe.head and .body, its headers and body
# for the nginx peer). Called twice, the second answer is what the wrk run sees (the 429
# config admits the very first request).
probe() {
  curl -s -D "$WORK/probe.head" -o "$WORK/probe.body" -w '%{http_code}' --max-time 5 "http://127.0.0.1:${1:-$PORT}/v1/messages" \
    -H 'x-api-key: sk-bench' -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
    -H 'x-limitlab-output-tokens: 10' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}'
}

# wrk_runs PID URL: a 2 s warm-up, then WRK_RUNS measured runs against the same server (the
# median is the figure). Sets WRK_JSON (one line per run), WRK_CMD, RSS0 and RSS1 (of PID).
wrk_runs() {
  local pid=$1 url=$2 out r
  timeout 20 taskset -c 1 wrk -t1 -c"$WRK_CONNECTIONS" -d2s -s bench/messages.lua "$url" >/dev/null
  RSS0=$(rss_kib "$pid")
  WRK_CMD="taskset -c 1 wrk -t1 -c$WRK_CONNECTIONS -d$WRK_DURATION --latency -s bench/messages.lua $url"
  WRK_JSON=""
  for r in $(seq "$WRK_RUNS"); do
    out=$(timeout 120 $WRK_CMD)
    printf '%s\n' "$out" | grep -v '^WRKJSON' >&2
    WRK_JSON="$WRK_JSON$(printf '%s\n' "$out" | sed -n 's/^WRKJSON //p')"$'\n'
  done
  RSS1=$(rss_kib "$pid")
}

# run_wrk NAME CONFIG TAG: the mock, then nginx with the mock's answer. Sets WRK_RESULT and
# NGINX_RESULT (JSON; NGINX_RESULT null when NGINX=0).
run_wrk() {
  local name=$1 cfg=$2 tag=$3
  start_server "$cfg"
  probe >/dev/null
  local first; first=$(probe)
  wrk_runs "$SERVER_PID" "http://127.0.0.1:$PORT/v1/messages"
  WRK_RESULT=$(python3 bench/mock_report.py wrk "$WRK_JSON" "$name" "$SERVER_CMD" "$WRK_CMD" "$first" "$RSS0" "$RSS1")
  stop_server
  NGINX_RESULT=null
  [ "$NGINX" = 1 ] || return 0
  cp "$WORK/probe.head" "$WORK/$tag.head"; cp "$WORK/probe.body" "$WORK/$tag.body"
  nginx_start "$WORK/nginx-$tag" "$first" "$WORK/$tag.body" "$WORK/$tag.head" 0 || return 0
  local nfirst; nfirst=$(probe "$NGINX_PORT")
  local worker; worker=$(pgrep -P "$NGINX_PID" | head -1); worker=${worker:-$NGINX_PID}
  wrk_runs "$worker" "http://127.0.0.1:$NGINX_PORT/v1/messages"
  NGINX_RESULT=$(python3 bench/mock_report.py wrk "$WRK_JSON" "nginx $($(nginx_bin) -v 2>&1 | sed 's/.*nginx\///'): $name" \
                 "$NGINX_CMD" "$WRK_CMD" "$nfirst" "$RSS0" "$RSS1")
  nginx_stop
}

# --- 1. non-streaming throughput ----------------------------------------------------------
run_wrk "non-streaming 200 path (limits 1e9, ttft 0ms)" bench/mock-200.yaml 200; R200=$WRK_RESULT; N200=$NGINX_RESULT
# The same 200 path recording every request (`serve --record`): the recording's cost.
rm -rf "$WORK/record-200"
NGINX_WAS=$NGINX; NGINX=0
SERVE_EXTRA="--record $WORK/record-200" run_wrk "non-streaming 200 path with --record" bench/mock-200.yaml 200rec
RREC=$WRK_RESULT; NGINX=$NGINX_WAS
rm -rf "$WORK/record-200"
run_wrk "non-streaming 429 path (rpm 1, reject_latency 0ms)" bench/mock-429.yaml 429; R429=$WRK_RESULT; N429=$NGINX_RESULT

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
python3 bench/mock_report.py final "$OUT" "$R200" "$R429" "$STREAMS" "$N200" "$N429" "$RREC"
