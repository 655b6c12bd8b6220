#!/usr/bin/env bash
# Simulator figures (issues 3 and 8): limitlab-bench at 1M and 10M requests (speed, memory per
# request, summary time), at 110 % of RPM, every strategy against `none`, and the SimPy model of
# the same scenario (bench/simpy_model.py) for speed and for agreement of the aggregates.
# Writes reports/bench/sim.json, sim-overload.json, sim-strategies*.json (limitlab.bench/1).
# Everything runs pinned to one core (CORE, default 1) and is bounded by its request counts.
#
# Environment: SIM_REQUESTS (default 1000000,10000000), SIMPY_REQUESTS (default 200000),
# STRATEGIES (1: also the every-strategy runs, default 1), CORE, OUT (default reports/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

SIM_REQUESTS=${SIM_REQUESTS:-1000000,10000000}
SIMPY_REQUESTS=${SIMPY_REQUESTS:-200000}
STRATEGIES=${STRATEGIES:-1}
CORE=${CORE:-1}
OUT=${OUT:-reports/bench}
WORK=.build-bench/sim-bench
mkdir -p "$WORK" "$OUT"
say() { printf '%s\n' "$*" >&2; }

python3 -c 'import simpy' 2>/dev/null || { say "sim-bench: installing simpy"; python3 -m pip install --quiet simpy; }
nice -n 10 swift build -c release --product limitlab-bench --scratch-path .build-bench >&2
BIN=.build-bench/release/limitlab-bench   # the same binary as --show-bin-path, shorter in the printed commands
run() { say "+ $*"; "$@"; }

run taskset -c "$CORE" "$BIN" --requests "$SIM_REQUESTS" --strategy sdk-default --suite sim --out "$OUT"
run taskset -c "$CORE" "$BIN" --requests 1000000 --strategy sdk-default --load 1.1 --suite sim-overload --out "$OUT"
if [ "$STRATEGIES" = 1 ]; then
  run taskset -c "$CORE" "$BIN" --requests 1000000 --strategy all --suite sim-strategies --out "$OUT"
  run taskset -c "$CORE" "$BIN" --requests 1000000 --strategy all --load 1.1 --suite sim-strategies-overload --out "$OUT"
fi

# SimPy: speed at 95 % of RPM; the aggregates at 95 % and 110 % next to limitlab's at the same size.
SIMPY_CMD="taskset -c $CORE python3 bench/simpy_model.py --requests $SIMPY_REQUESTS --load LOAD"
EQ_CMD="taskset -c $CORE $BIN --requests $SIMPY_REQUESTS --strategy sdk-default --load LOAD --suite sim-equiv-LOAD --out $WORK"
for load in 0.95 1.1; do
  # Bounded: about 15 s per 200k requests on this machine; the timeout stops a runaway.
  run timeout 600 ${SIMPY_CMD//LOAD/$load} > "$WORK/simpy-$load.json"
  run ${EQ_CMD//LOAD/$load} >&2
done
python3 bench/sim_report.py "$OUT/sim.json" "$WORK" "$SIMPY_REQUESTS" "$SIMPY_CMD" "$EQ_CMD"
