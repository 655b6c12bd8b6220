#!/usr/bin/env bash
# --shard i/n and `limitlab merge` of shard folders (docs/sharding.md): compare and run with
# --replications, sweep and size, unsharded against 2 and 3 shards merged, byte-identical apart
# from the documented timestamp (generated_at in report.json and where report.html shows it);
# every refusal with its exit code; the local loop of docs/sharding.md as written; the Kubernetes manifest's shape.
# Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${LIMITLAB:-.build/debug/limitlab}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source tests/lib.sh

says() { # text the last `exits` printed on stderr must contain
    grep -qF -- "$1" "$TMP/stderr" || { echo "stderr lacks: $1"; cat "$TMP/stderr"; return 1; }
}

# The same files, apart from the merge's generated_at (report.json) and that string in report.html.
same_report() { # unsharded dir, merged dir
    python3 - "$1" "$2" <<'PY'
import json, os, sys
a, b = sys.argv[1:]
ja, jb = (json.load(open(os.path.join(d, "report.json"))) for d in (a, b))
ta, tb = ja.pop("generated_at"), jb.pop("generated_at")
assert ja == jb, "report.json differs beyond generated_at"
for name in sorted(os.listdir(a)):
    x = open(os.path.join(a, name), "rb").read()
    y = open(os.path.join(b, name), "rb").read()
    if name in ("report.json", "report.html"):
        # generated_at is a fixed-width ISO 8601 string: swapping it back must give the same bytes.
        y = y.replace(tb.encode(), ta.encode())
    assert x == y, f"{name} differs"
assert sorted(os.listdir(a)) == sorted(os.listdir(b)), (os.listdir(a), os.listdir(b))
print("identical:", ", ".join(sorted(os.listdir(a))))
PY
}

same_files() { # dir, dir: byte-identical files, same names
    diff -r "$1" "$2"
}

# sharded LABEL PREFIX SAME ARGS...: ARGS unsharded into $TMP/<PREFIX>1, then as 2 and as 3
# shards ($TMP/<PREFIX><n>-<i>) merged, given in reverse order, into $TMP/<PREFIX><n>m; SAME
# compares each merge with the unsharded output.
sharded() {
    local label=$1 p=$2 same=$3; shift 3
    check "$label, unsharded" "$BIN" "$@" --out "$TMP/${p}1"
    local n i parts
    for n in 2 3; do
        parts=()
        for ((i = 0; i < n; i++)); do
            check "$label shard $i/$n" "$BIN" "$@" --shard "$i/$n" --out "$TMP/$p$n-$i"
            parts=("$TMP/$p$n-$i" "${parts[@]}")
        done
        check "$n $label shards merge (given out of order)" "$BIN" merge "${parts[@]}" --out "$TMP/$p${n}m" --quiet
        check "$n $label shards merged = one machine" "$same" "$TMP/${p}1" "$TMP/$p${n}m"
    done
}

SC=scenarios/quickstart.yaml
# same_report: report.json, summary.md, report.html, events and hlogs byte for byte.
C=(compare "$SC" --replications 3)
sharded "compare --replications 3" c same_report "${C[@]}"
check "shard.json records the units, seeds, scenario hash, command line and version" python3 - "$TMP/c3-1/shard.json" "$SC" <<'PY'
import hashlib, json, sys
r = json.load(open(sys.argv[1]))["record"]
assert r["schema"] == "limitlab.shard/1" and r["command"] == "compare" and r["shard"] == {"index": 1, "count": 3}
assert [u["unit"] for u in r["units"]] == [1, 4] and r["units_total"] == 6, r["units"]
assert [u["seed"] for u in r["units"]] == [2, 2] and r["seeds"] == [1, 2, 3]
assert r["scenario_sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert "--shard" in r["command_line"] and r["generator"].startswith("limitlab ")
PY

R=(run "$SC" --replications 3)
sharded "run --replications 3" r same_report "${R[@]}"
check "run shards: a replication section and no comparison, as run writes" python3 - "$TMP/r3m/report.json" "$TMP/r3-2/shard.json" <<'PY'
import json, sys
r, s = (json.load(open(p)) for p in sys.argv[1:])
assert "comparison" not in r and r["replication"]["seeds"] == [1, 2, 3] and len(r["replication"]["replications"]) == 6
assert s["record"]["command"] == "run" and "run" in s and "compare" not in s
assert [u["unit"] for u in s["record"]["units"]] == [2, 5] and "slo_latency_s" not in s["record"]["settings"]
PY
# Without an SLO in the scenario, run judges none (compare would take 30 s): the shards must agree.
Q=(run scenarios/shared-quota.yaml --seeds 5..6)
check "run --seeds on a scenario without an SLO, unsharded" "$BIN" "${Q[@]}" --out "$TMP/q1" --quiet
check "its shards merged = one machine" bash -c "'$BIN' ${Q[*]} --shard 0/2 --out '$TMP/q2-0' --quiet \
    && '$BIN' ${Q[*]} --shard 1/2 --out '$TMP/q2-1' --quiet && '$BIN' merge '$TMP/q2-0' '$TMP/q2-1' --out '$TMP/q2m' --quiet \
    && $(declare -f same_report); same_report '$TMP/q1' '$TMP/q2m'"
check "the run shard's --json prints its record" bash -c \
    "'$BIN' ${R[*]} --shard 1/2 --out '$TMP/rj' --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"command\"] == \"run\"'"

# same_files: sweep.json, .md and .html byte for byte.
S=(sweep "$SC" --vary "arrivals[0].rate=20/min..60/min step 20/min" --replications 2)
sharded "sweep" s same_files "${S[@]}"

T=(sweep "$SC" --vary "limits.tier=tier-1..tier-3")
check "sweep over catalog tiers, unsharded" "$BIN" "${T[@]}" --out "$TMP/t1" --json
check "tier sweep shard 0/2" "$BIN" "${T[@]}" --shard 0/2 --out "$TMP/t2-0"
check "tier sweep shard 1/2" "$BIN" "${T[@]}" --shard 1/2 --out "$TMP/t2-1"
check "2 tier sweep shards merged = one machine" bash -c \
    "'$BIN' merge '$TMP/t2-0' '$TMP/t2-1' --out '$TMP/t2m' --quiet && diff -r '$TMP/t1' '$TMP/t2m'"
check "the tier sweep names the tiers" grep -q "| tier-2 |" "$TMP/t1/sweep.md"

Z=(size "$SC" --slo "success>=0.95" --replications 2)
check "size, unsharded" "$BIN" "${Z[@]}" --out "$TMP/z1" --json
check "size shard 0/2" "$BIN" "${Z[@]}" --shard 0/2 --out "$TMP/z2-0"
check "size shard 1/2" "$BIN" "${Z[@]}" --shard 1/2 --out "$TMP/z2-1"
check "2 size shards merged = one machine (size.json byte for byte)" bash -c \
    "'$BIN' merge '$TMP/z2-0' '$TMP/z2-1' --out '$TMP/z2m' --quiet && diff -r '$TMP/z1' '$TMP/z2m'"

# Refusals.
check "missing shard: exit 2 naming it" bash -c "$(declare -f exits says); TMP='$TMP'; exits 2 '$BIN' merge '$TMP/c3-0' '$TMP/c3-2' --out '$TMP/x1' && says 'missing shard(s) 1/3'"
cp -r "$TMP/c2-0" "$TMP/c2-0-copy"
check "the same shard twice (a copy): exit 2" bash -c "$(declare -f exits says); TMP='$TMP'; exits 2 '$BIN' merge '$TMP/c2-0' '$TMP/c2-0-copy' '$TMP/c2-1' --out '$TMP/x2' && says 'are both shard 0/2'"
check "the same folder twice: exit 2" exits 2 "$BIN" merge "$TMP/c2-0" "$TMP/c2-0/." "$TMP/c2-1" --out "$TMP/x3"
check "merge into one of its shards: exit 2" exits 2 "$BIN" merge "$TMP/c2-0" "$TMP/c2-1" --out "$TMP/c2-1"
check "shards of 2 and of 3: exit 4" exits 4 "$BIN" merge "$TMP/c2-0" "$TMP/c3-1" "$TMP/c3-2" --out "$TMP/x4"
check "a compare shard with sweep shards: exit 4" exits 4 "$BIN" merge "$TMP/c2-0" "$TMP/s2-1" --out "$TMP/x5"
sed 's/^seed: 1 /seed: 2 /' "$SC" >"$TMP/other.yaml"
check "shard of another scenario file runs" "$BIN" "${C[@]/$SC/$TMP/other.yaml}" --shard 1/2 --out "$TMP/o2-1"
check "shards of different scenarios: exit 4" bash -c "$(declare -f exits says); TMP='$TMP'; exits 4 '$BIN' merge '$TMP/c2-0' '$TMP/o2-1' --out '$TMP/x6' && says 'another scenario file'"
check "merge --scenario of another file: exit 4" exits 4 "$BIN" merge "$TMP/c2-0" "$TMP/c2-1" --out "$TMP/x7" --scenario "$TMP/other.yaml"
check "shard folders mixed with a run folder: exit 2" exits 2 "$BIN" merge "$TMP/c2-0" "$TMP/c1" --out "$TMP/x8"
check "--shard 2/2: exit 2" exits 2 "$BIN" "${C[@]}" --shard 2/2 --out "$TMP/x9"
check "--shard 1of2: exit 2" exits 2 "$BIN" "${S[@]}" --shard 1of2 --out "$TMP/x9"
check "compare --shard with one seed: exit 2" exits 2 "$BIN" compare "$SC" --shard 0/2 --out "$TMP/x9"
check "run --shard with one seed: exit 2" bash -c "$(declare -f exits says); TMP='$TMP'; exits 2 '$BIN' run '$SC' --shard 0/2 --out '$TMP/x10' && says '--shard on run splits the replications'"
check "run --shard on a live target: exit 2" bash -c "$(declare -f exits says); TMP='$TMP'; exits 2 '$BIN' run '$SC' --target mock --shard 0/2 --out '$TMP/x10' && says 'is live'"
check "run --shard --check: exit 2" bash -c "$(declare -f exits says); TMP='$TMP'; exits 2 '$BIN' ${R[*]} --check --shard 0/2 --out '$TMP/x10' && says 'limitlab check'"
check "a run shard with a compare shard: exit 4" exits 4 "$BIN" merge "$TMP/r2-0" "$TMP/c2-1" --out "$TMP/x11"
check "nothing written by the refused shards" test ! -e "$TMP/x10"
check "size --custom --shard: exit 2" exits 2 "$BIN" size "$SC" --slo "success>=0.9" --custom --shard 0/2 --out "$TMP/x9"

# The local loop of docs/sharding.md, as written, with `limitlab` on PATH.
mkdir -p "$TMP/docs/bin" && ln -s "$BIN" "$TMP/docs/bin/limitlab" && cp -r scenarios "$TMP/docs/"
awk '/^## Running the shards locally/{f=1} f && /^```sh$/{c=1; next} c && /^```$/{exit} c' docs/sharding.md >"$TMP/docs/loop.sh"
check "docs/sharding.md's local loop runs as written and prints identical" bash -c \
    "cd '$TMP/docs' && PATH='$TMP/docs/bin':\$PATH bash -e loop.sh 2>&1 | tail -1 | grep -qx identical"
awk '/^## Running the shards locally/{f=1} f && /^```sh$/{n++; if (n == 2) {c=1; next}} c && /^```$/{exit} c' \
    docs/sharding.md >"$TMP/docs/run-loop.sh"
check "docs/sharding.md's run shards run as written and merge into a run report" bash -c \
    "cd '$TMP/docs' && grep -q 'run .* --shard 1/2' run-loop.sh && PATH='$TMP/docs/bin':\$PATH bash -e run-loop.sh >/dev/null \
     && test -s reports/run-shards/merged/report.json && ls reports/run-shards/merged | grep -q 'latency.hlog'"

# The Kubernetes manifest: an Indexed Job running the shards from JOB_COMPLETION_INDEX, and a merge Job.
check "deploy/kubernetes/limitlab-shards.yaml parses with the expected fields" python3 - <<'PY'
import yaml
docs = [d for d in yaml.safe_load_all(open("deploy/kubernetes/limitlab-shards.yaml")) if d]
jobs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Job"}
shards, merge = jobs["limitlab-compare-shards"], jobs["limitlab-compare-merge"]
spec = shards["spec"]
assert spec["completionMode"] == "Indexed" and spec["completions"] == 3 and spec["parallelism"] >= 1
c = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in c["env"]}
assert env["SHARDS"] == str(spec["completions"]), "SHARDS must equal completions"
cmd = " ".join(c["command"] + c["args"])
assert "limitlab compare" in cmd and '--shard "$JOB_COMPLETION_INDEX/$SHARDS"' in cmd and "--replications" in cmd
m = merge["spec"]["template"]["spec"]["containers"][0]
assert {e["name"]: e["value"] for e in m["env"]}["SHARDS"] == env["SHARDS"]
assert "limitlab merge" in " ".join(m["args"])
claims = {v["persistentVolumeClaim"]["claimName"] for j in (shards, merge)
          for v in j["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v}
pvc = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
assert claims == {pvc[0]["metadata"]["name"]} and "ReadWriteMany" in pvc[0]["spec"]["accessModes"]
PY
python3 -c 'import yaml; d=[x for x in yaml.safe_load_all(open("deploy/kubernetes/limitlab-shards.yaml")) if x and x["kind"]=="ConfigMap"][0]; open("'"$TMP"'/k8s-scenario.yaml","w").write(d["data"]["scenario.yaml"])'
check "the manifest's scenario validates" "$BIN" validate "$TMP/k8s-scenario.yaml"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
