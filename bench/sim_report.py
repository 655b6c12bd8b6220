#!/usr/bin/env python3
"""sim-bench.sh's last step: puts the SimPy peer into reports/bench/sim.json.

usage: sim_report.py SIM_JSON WORK_DIR SIMPY_REQUESTS SIMPY_CMD LIMITLAB_EQ_CMD

WORK_DIR holds simpy-<load>.json (bench/simpy_model.py) and sim-equiv-<load>.json
(limitlab-bench at the same size and load). Speed and memory ratios are limitlab ÷ SimPy;
the equivalence figures give limitlab's aggregate with SimPy's beside it.
"""
import json, os, sys

sys.path.insert(0, os.path.dirname(__file__))
import benchlib

sim_path, work, n, simpy_cmd, eq_cmd = sys.argv[1:6]
n = int(n)
doc = benchlib.load(sim_path)
if doc is None:
    sys.exit(f"sim_report: {sim_path} is not a limitlab.bench/1 file")


def load_json(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


size = f"{n // 1000}k" if n % 1000 == 0 else str(n)
peer = {}
for load in ("0.95", "1.1"):
    p = os.path.join(work, f"simpy-{load}.json")
    if os.path.exists(p):
        peer[load] = load_json(p)
base = peer.get("0.95")
if base:
    label = f"SimPy {base['simpy']} ({size} requests, Python {base['python']})"
    cmd = simpy_cmd.replace("LOAD", "0.95")
    for f in doc["figures"]:
        if f["id"].endswith(".rps"):
            f.update(peer=label, peer_value=base["requests_per_wall_s"], ratio=f["value"] / base["requests_per_wall_s"])
        elif f["id"].endswith(".bytes_per_request") and base["bytes_per_request"] > 0:
            f.update(peer=label + ", RSS growth", peer_value=base["bytes_per_request"],
                     ratio=f["value"] / base["bytes_per_request"])
    doc["figures"].append(benchlib.figure(
        f"sim.simpy.{size}.rps", f"SimPy model of the same scenario: simulated requests per wall second, {size.upper()} requests, 95 % of RPM",
        base["requests_per_wall_s"], "req/s", cmd))

# Equivalence: the same scenario, size and load in both; aggregates should agree within a few %.
eq = []
for load, pct in (("0.95", 95), ("1.1", 110)):
    s, l = peer.get(load), None
    lp = os.path.join(work, f"sim-equiv-{load}.json")
    if os.path.exists(lp):
        with open(lp) as f:
            rows = json.load(f).get("results", [])
        l = rows[0] if rows else None
    if not (s and l):
        continue
    la = l["attempts"]
    mine = {"attempts_per_request": la / l["requests"], "success_rate": l["succeeded"] / l["requests"],
            "rate_429": l["status_429"] / la if la else 0.0}
    cmd = eq_cmd.replace("LOAD", load) + " ; " + simpy_cmd.replace("LOAD", load)
    for key, title in (("attempts_per_request", "attempts per request"), ("success_rate", "success rate"),
                       ("rate_429", "share of attempts answered 429")):
        v, pv = mine[key], s[key]
        # 429s are rare at 95 % of RPM (tens in 200k requests): no agreement bar there.
        bar = load == "1.1" or key != "rate_429"
        agree = abs(v - pv) <= 0.05 * abs(pv) if pv else v == pv
        eq.append(benchlib.figure(
            f"sim.equiv.{pct}.{key}", f"equivalence with SimPy, {title}, {size.upper()} requests, {pct} % of RPM"
            + (f" ({l['status_429']} vs {s['status_429']} 429s)" if key == "rate_429" else ""),
            v, "", cmd, target="within 5 % of SimPy" if bar else None, met=agree if bar else None,
            peer=f"SimPy {s['simpy']}", peer_value=pv, ratio=v / pv if pv else None))
doc["figures"].extend(eq)
doc["simpy"] = peer
benchlib.write(sim_path, doc)
for f in doc["figures"]:
    r = f" ratio {f['ratio']:.3g}" if f.get("ratio") is not None else ""
    print(f"== {f['id']}: {f['value']:.6g} {f['unit']}{r}", file=sys.stderr)
