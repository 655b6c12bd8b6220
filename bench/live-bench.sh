#!/usr/bin/env bash
# Measured figures for the live runner (issue 6's fidelity bar, and the benchmarks issue):
#   1. open loop, Poisson arrivals at 1k, 5k and 10k/s: realised send rate, schedule-lag
#      percentiles, CPU per attempt;
#   2. closed loop: C connections, each sending the next request when the previous completes
#      (compare with wrk / Locust on the same mock config);
#   3. 10,000 concurrent streaming requests held at once, and the runner's peak RSS.
# The mock (`limitlab serve`, one event-loop thread) runs as a separate process pinned to core 0,
# the runner (`limitlab-bench live …`, the public LiveRunner) pinned to core 1. Limits never bind;
# responses are short SSE streams (5 output tokens, no latency) except in 3 (1 token/s, 11 s).
# Writes reports/bench/live.json (schema limitlab.bench/1). Every load is bounded in time.
#
# Environment: RATES (default "1000 5000 10000"), DURATION (seconds per rate, default 20),
# RUNS (runs per rate and of the closed loop; the median run, by p99 lag or by req/s, is reported;
# default 1),
# CLOSED_CONNECTIONS (default 64), CLOSED_DURATION (default 10), STREAMS (default 10000),
# BENCH_RT=1 (run server and runner with `chrt -f 20`, shielding them from other load on a
# shared machine; the figures then say so), OUT (default reports/bench/live.json).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

RATES=${RATES:-"1000 5000 10000"}
DURATION=${DURATION:-20}
RUNS=${RUNS:-1}
CLOSED_CONNECTIONS=${CLOSED_CONNECTIONS:-64}
CLOSED_DURATION=${CLOSED_DURATION:-10}
STREAMS=${STREAMS:-10000}
OUT=${OUT:-reports/bench/live.json}
# A private work folder: two runs at once (another `make bench`) must not delete each other's results.
mkdir -p .build-bench "$(dirname "$OUT")"
WORK=$(mktemp -d .build-bench/live-bench.XXXXXX)

say() { printf '%s\n' "$*" >&2; }

for t in taskset python3; do command -v $t >/dev/null || { say "live-bench: $t missing"; exit 1; }; done
if [ "$(nproc)" -lt 2 ]; then say "live-bench: needs 2 cores (server on core 0, runner on core 1)"; exit 1; fi
RT=""
if [ "${BENCH_RT:-0}" = 1 ]; then RT="chrt -f 20"; fi

# One descriptor per connection on both sides: 10,000 streams need more than the usual 1024.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "live-bench: ulimit -n $(ulimit -n)"
if [ "$(ulimit -n)" -lt $((STREAMS + 200)) ]; then say "live-bench: ulimit -n is below $STREAMS streams + 200"; fi

# --- build ---------------------------------------------------------------------------------
nice -n 10 swift build -c release --product limitlab --scratch-path .build-bench >&2
nice -n 10 swift build -c release --product limitlab-bench --scratch-path .build-bench >&2
BINDIR="$(swift build -c release --scratch-path .build-bench --show-bin-path)"
SERVE="$BINDIR/limitlab"
RUNNER="$BINDIR/limitlab-bench"

# --- mock configs (the fast one is bench/fast-mock.yaml): limits that never bind, no latency; output length comes from the runner's
# x-limitlab-output-tokens header (5 tokens for the rate runs, 12 at 1 token/s for the streams).
cat >"$WORK/slow-stream.yaml" <<'EOF'
seed: 1
default_output_tokens: 12
orgs:
  - id: bench
    any_key: true
    limits: {rpm: 1000000000, itpm: 1000000000, otpm: 1000000000}
server:
  ttft: 0ms
  output_rate: 1/s
  reject_latency: 0ms
EOF

# --- server --------------------------------------------------------------------------------
BIN=$SERVE SERVE_PREFIX=$RT
source bench/mock-server.sh
trap stop_server EXIT

# measure NAME TIMEOUT ARGS…: one runner invocation on core 1; its JSON goes to result-NAME.json
# with the command that produced it.
measure() {
  local name=$1 limit=$2; shift 2
  local cmd="$RT taskset -c 1 limitlab-bench live $*"
  say "live-bench: $cmd"
  local j
  j=$(timeout "$limit" $RT taskset -c 1 "$RUNNER" live "$@" --url "http://127.0.0.1:$PORT") || {
    say "live-bench: $name failed or timed out"; return 0; }
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["command"]=sys.argv[2]; d["server_command"]=sys.argv[3]; print(json.dumps(d))' \
    "$j" "$cmd" "$SERVER_CMD" >"$WORK/result-$name.json"
  say "  $(head -c 400 "$WORK/result-$name.json")"
}

# --- 1. open loop, Poisson -----------------------------------------------------------------
for rate in $RATES; do
  for run in $(seq "$RUNS"); do
    start_server bench/fast-mock.yaml
    measure "poisson-$rate-$run" $((DURATION * 3 + 60)) poisson --rate "$rate" --duration "$DURATION"
    stop_server
  done
done

# --- 2. closed loop ------------------------------------------------------------------------
for run in $(seq "$RUNS"); do
  start_server bench/fast-mock.yaml
  measure "closed-$run" $((CLOSED_DURATION + 60)) closed --connections "$CLOSED_CONNECTIONS" --duration "$CLOSED_DURATION"
  stop_server
done

# --- 3. concurrent streams -----------------------------------------------------------------
start_server "$WORK/slow-stream.yaml"
measure streams 180 streams --streams "$STREAMS" --ramp 5 --output-tokens 12
stop_server

# --- report --------------------------------------------------------------------------------
python3 - "$WORK" "$OUT" "$RATES" "${BENCH_RT:-0}" <<'PY'
import glob, json, os, platform, subprocess, sys
from datetime import datetime, timezone

work, out, rates, rt = sys.argv[1], sys.argv[2], [int(r) for r in sys.argv[3].split()], sys.argv[4] == "1"
def load(name):
    try:
        with open(os.path.join(work, f"result-{name}.json")) as f: return json.load(f)
    except FileNotFoundError: return None

model = "unknown CPU"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"): model = line.split(":", 1)[1].strip(); break
machine = f"{os.cpu_count()} cores, {model}, Linux {platform.release()}"
load_avg = open("/proc/loadavg").read().split()[:3]
cond = f"server core 0, runner core 1{', both chrt -f 20' if rt else ''}; load average at end {' '.join(load_avg)}"

def label(rate): return f"{rate // 1000}k" if rate % 1000 == 0 else str(rate)
def fig(id, title, value, unit, command, target=None, met=None):
    return {"id": id, "title": title, "value": value, "unit": unit, "target": target, "met": met,
            "peer": None, "peer_value": None, "ratio": None, "command": f"bash bench/live-bench.sh: {command} ({cond})"}

figures = []
for rate in rates:
    runs = [r for r in (load(os.path.basename(p)[7:-5]) for p in sorted(glob.glob(os.path.join(work, f"result-poisson-{rate}-*.json")))) if r]
    if not runs: continue
    runs.sort(key=lambda r: r["lag_ms"]["p99"])
    r = runs[len(runs) // 2]   # the run with the median p99 lag
    l, cmd, bar = label(rate), r["command"], rate == 5000
    if r.get("partial"): cmd += " [fell behind: stopped 15 s after its window]"
    realised = round(r["realised_rate"], 1)
    within = abs(realised - rate) / rate <= 0.01
    figures.append(fig(f"live.poisson-{l}.realised", f"Live runner realised rate, Poisson {rate:,}/s", realised, "req/s", cmd,
                       f"within 1 % of {rate:,}" if bar else None, within if bar else None))
    figures.append(fig(f"live.poisson-{l}.planned", f"Live runner planned rate (the seeded Poisson stream), {rate:,}/s",
                       round(r["planned_rate"], 1), "req/s", cmd))
    for q, name in (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p99_9", "p99.9"), ("max", "max")):
        v = round(r["lag_ms"][q], 3)
        t = "< 1 ms" if bar and q == "p99" else None
        figures.append(fig(f"live.poisson-{l}.lag-{name}", f"Live runner schedule lag {name}, Poisson {rate:,}/s", v, "ms", cmd,
                           t, (v < 1.0) if t else None))
    figures.append(fig(f"live.poisson-{l}.cpu-per-attempt", f"Live runner CPU per attempt (user + system), Poisson {rate:,}/s",
                       round(r["cpu_us_per_attempt"], 1), "µs", cmd))
    figures.append(fig(f"live.poisson-{l}.errors", f"Live runner failed attempts, Poisson {rate:,}/s", r["errors"], "attempts", cmd,
                       "0", r["errors"] == 0))
closed = sorted((r for r in (load(os.path.basename(p)[7:-5]) for p in glob.glob(os.path.join(work, "result-closed-*.json"))) if r),
                key=lambda r: r["rps"])
c = closed[len(closed) // 2] if closed else None   # the median run
if c:
    kind = "streaming" if c["stream"] else "non-streaming, as bench/messages.lua"
    figures.append(fig("live.closed-loop.rps", f"Live runner closed loop, {c['connections']} connections, {kind}", round(c["rps"], 1),
                       "req/s", c["command"]))
    figures.append(fig("live.closed-loop.cpu-per-request", "Live runner CPU per request, closed loop", round(c["cpu_us_per_request"], 1),
                       "µs", c["command"]))
s = load("streams")
if s:
    figures.append(fig("live.streams-10k.held", f"Concurrent streaming requests held by the live runner (all open at once)",
                       s["peak_in_flight"] if s["all_open_at_once"] else s["ok"], "streams", s["command"],
                       f"{s['streams']:,} open at once", bool(s["all_open_at_once"]) and s["streams"] >= 10000))
    figures.append(fig("live.streams-10k.rss", f"Live runner peak RSS holding {s['streams']:,} streams", round(s["peak_rss_mib"], 1),
                       "MiB", s["command"]))
doc = {"schema": "limitlab.bench/1", "suite": "live",
       "date": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
       "machine": machine, "figures": figures}
with open(out, "w") as f: json.dump(doc, f, indent=2); f.write("\n")
for x in figures:
    met = "" if x["met"] is None else ("  [met]" if x["met"] else "  [NOT MET]")
    print(f"{x['id']:40s} {x['value']:>12} {x['unit']}{met}")
print(f"wrote {out} (raw results in {work})")
PY
