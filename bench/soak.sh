#!/usr/bin/env bash
# Soak test of the live runner and the mock (part of `make bench`, never of `make test`):
#   1. SOAK_RUNS consecutive 20-s open-loop runs at 10,000 streaming Poisson arrivals/s, each
#      against a fresh `limitlab serve` (pinned to core 0, one event-loop thread; the runner,
#      `limitlab-bench live poisson`, on core 1): counts the runs that did not end on their own —
#      killed by the script's timeout, or ended by the runner's watchdog (`ENGINE STUCK`, a
#      libcurl call that did not return; see docs/live-runner.md);
#   2. one long-lived mock under SOAK_MINUTES of mixed load (streaming and non-streaming Poisson
#      runs, closed-loop bursts, in turn), its RSS sampled every 5 s: flat, or growing.
# Writes reports/bench/soak.json (schema limitlab.bench/1), rendered into BENCHMARKS.md by
# bench/render_benchmarks.py.
#
# Environment: SOAK_RUNS (default 50), SOAK_RATE (default 10000), SOAK_DURATION (seconds per
# run, default 20), SOAK_MINUTES (mixed-load window, default 60), BENCH_RT=1 (server and
# runner under `chrt -f 20`), OUT (default reports/bench/soak.json).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

SOAK_RUNS=${SOAK_RUNS:-50}
SOAK_RATE=${SOAK_RATE:-10000}
SOAK_DURATION=${SOAK_DURATION:-20}
SOAK_MINUTES=${SOAK_MINUTES:-60}
OUT=${OUT:-reports/bench/soak.json}
mkdir -p .build-bench "$(dirname "$OUT")"
WORK=$(mktemp -d .build-bench/soak.XXXXXX)

say() { printf '%s\n' "$*" >&2; }
for t in taskset python3 timeout; do command -v $t >/dev/null || { say "soak: $t missing"; exit 1; }; done
if [ "$(nproc)" -lt 2 ]; then say "soak: needs 2 cores (server on core 0, runner on core 1)"; exit 1; fi
RT=""
if [ "${BENCH_RT:-0}" = 1 ]; then RT="chrt -f 20"; fi
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "soak: ulimit -n $(ulimit -n)"

nice -n 10 swift build -c release --product limitlab --scratch-path .build-bench >&2
nice -n 10 swift build -c release --product limitlab-bench --scratch-path .build-bench >&2
BINDIR="$(swift build -c release --scratch-path .build-bench --show-bin-path)"
RUNNER="$BINDIR/limitlab-bench"


BIN="$BINDIR/limitlab" SERVE_PREFIX=$RT
source bench/mock-server.sh
trap stop_server EXIT

# --- 1. consecutive 10,000/s streaming runs ------------------------------------------------
# A run that ends on its own takes the window, the runner's stop (window + 15 s), its grace period
# (5 s) and the release of every transfer; one far behind schedule took 113 s on a loaded 2-core
# machine. The timeout leaves a margin over that.
LIMIT=$((SOAK_DURATION * 6 + 120))
for i in $(seq "$SOAK_RUNS"); do
  start_server bench/fast-mock.yaml
  start=$(date +%s.%N)
  status=0
  timeout "$LIMIT" $RT taskset -c 1 "$RUNNER" live poisson --rate "$SOAK_RATE" --duration "$SOAK_DURATION" \
    --url "http://127.0.0.1:$PORT" >"$WORK/run-$i.json" 2>"$WORK/run-$i.err" || status=$?
  end=$(date +%s.%N)
  stop_server
  python3 - "$WORK/run-$i.json" "$status" "$start" "$end" >"$WORK/run-$i.line" <<'PY'
import json, sys
path, status, start, end = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
try:
    d = json.load(open(path))
except Exception:
    d = {}
stuck = any("ENGINE STUCK" in w for w in d.get("warnings", []))
print(json.dumps({"exit": status, "timed_out": status == 124, "watchdog": stuck, "wall_s": round(end - start, 1),
                  "sent": d.get("sent"), "errors": d.get("errors"), "lag_p99_ms": d.get("lag_ms", {}).get("p99"),
                  "partial": d.get("partial")}))
PY
  say "soak: run $i/$SOAK_RUNS: $(cat "$WORK/run-$i.line")"
done

# --- 2. one mock under mixed load, RSS sampled ---------------------------------------------
start_server bench/fast-mock.yaml
MOCK_PID=$SERVER_PID
: >"$WORK/rss.tsv"
(
  t0=$(date +%s)
  while kill -0 "$MOCK_PID" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$MOCK_PID/status" 2>/dev/null || true)
    [ -n "$rss" ] && printf '%s\t%s\n' "$(( $(date +%s) - t0 ))" "$rss" >>"$WORK/rss.tsv"
    sleep 5
  done
) &
SAMPLER=$!
deadline=$(( $(date +%s) + SOAK_MINUTES * 60 ))
round=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  round=$((round + 1))
  case $((round % 3)) in
    1) args=(poisson --rate 2000 --duration 20) ;;
    2) args=(poisson --rate 2000 --duration 20 --stream false) ;;
    0) args=(closed --connections 64 --duration 10) ;;
  esac
  timeout 120 $RT taskset -c 1 "$RUNNER" live "${args[@]}" --url "http://127.0.0.1:$PORT" \
    >"$WORK/mixed-$round.json" 2>>"$WORK/mixed.err" || say "soak: mixed round $round (${args[*]}) exited $?"
done
sleep 6
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
MIXED_CMD="${SERVER_CMD//$BINDIR\//}"
stop_server

# --- report --------------------------------------------------------------------------------
python3 - "$WORK" "$OUT" "$SOAK_RUNS" "$SOAK_RATE" "$SOAK_DURATION" "$SOAK_MINUTES" "$round" "${BENCH_RT:-0}" "$MIXED_CMD" <<'PY'
import glob, json, os, platform, statistics, sys
from datetime import datetime, timezone

work, out = sys.argv[1], sys.argv[2]
runs_n, rate, duration, minutes, rounds, rt, mixed_cmd = (int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
                                                         int(sys.argv[6]), int(sys.argv[7]), sys.argv[8] == "1", sys.argv[9])
runs = [json.load(open(os.path.join(work, f"run-{i}.line"))) for i in range(1, runs_n + 1)]
timed_out = sum(r["timed_out"] for r in runs)
watchdog = sum(r["watchdog"] for r in runs)
hangs = timed_out + watchdog
rss = [tuple(map(int, l.split())) for l in open(os.path.join(work, "rss.tsv")) if l.strip()]
model = "unknown CPU"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"): model = line.split(":", 1)[1].strip(); break
machine = f"{os.cpu_count()} cores, {model}, Linux {platform.release()}"
load_avg = " ".join(open("/proc/loadavg").read().split()[:3])
cond = f"server core 0, runner core 1{', both chrt -f 20' if rt else ''}; load average at end {load_avg}"
cmd = f"SOAK_RUNS={runs_n} SOAK_MINUTES={minutes} bash bench/soak.sh"

def fig(id, title, value, unit, target=None, met=None, detail=""):
    return {"id": id, "title": title, "value": value, "unit": unit, "target": target, "met": met,
            "peer": None, "peer_value": None, "ratio": None, "command": f"{cmd}: {detail} ({cond})"}

runs_detail = f"{runs_n} runs of limitlab-bench live poisson --rate {rate} --duration {duration}, a fresh mock each"
figures = [
    fig("soak.runs", f"Consecutive {rate:,}/s streaming runs of {duration} s", runs_n, "runs", detail=runs_detail),
    fig("soak.hangs", "Runs that did not end on their own (script timeout or runner watchdog)", hangs, "runs",
        "0", hangs == 0, runs_detail + f"; {timed_out} timed out, {watchdog} ended by the watchdog"),
    fig("soak.run-wall-max", "Longest of those runs, wall clock", max(r["wall_s"] for r in runs) if runs else None, "s",
        detail=runs_detail),
]
if rss and rounds > 0:
    mib = [(t, kb / 1024) for t, kb in rss]
    span = mib[-1][0] - mib[0][0]
    # Flat: the median of the last fifth of the window against the median of the second fifth
    # (the first holds the warm-up as buffers and connection pools fill).
    fifth = max(1, len(mib) // 5)
    early = statistics.median(v for _, v in mib[fifth:2 * fifth] or mib[:fifth])
    late = statistics.median(v for _, v in mib[-fifth:])
    growth = (late - early) / early * 100 if early else None
    mixed = f"one mock ({mixed_cmd}) under {rounds} rounds of mixed load over {minutes} min, RSS every 5 s"
    figures += [
        fig("soak.mock-rss-early", "Mock RSS, median of the second fifth of the mixed-load window", round(early, 1), "MiB", detail=mixed),
        fig("soak.mock-rss-late", "Mock RSS, median of the last fifth", round(late, 1), "MiB", detail=mixed),
        fig("soak.mock-rss-max", "Mock RSS, maximum", round(max(v for _, v in mib), 1), "MiB", detail=mixed),
        fig("soak.mock-rss-growth", f"Mock RSS growth over {span / 60:.0f} min of mixed load (late vs early)",
            round(growth, 1) if growth is not None else None, "%", "< 10 %", growth is not None and growth < 10, mixed),
    ]
doc = {"schema": "limitlab.bench/1", "suite": "soak",
       "date": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
       "machine": machine, "figures": figures, "runs": runs}
with open(out, "w") as f: json.dump(doc, f, indent=2); f.write("\n")
for x in figures:
    met = "" if x["met"] is None else ("  [met]" if x["met"] else "  [NOT MET]")
    print(f"{x['id']:28s} {x['value']!s:>10} {x['unit']}{met}")
print(f"wrote {out} (raw results in {work})")
sys.exit(1 if hangs else 0)
PY
