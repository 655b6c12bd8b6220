#!/usr/bin/env bash
# End-to-end checks of the limitlab command line: exit codes, located errors, reports,
# determinism. Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${LIMITLAB:-.build/debug/limitlab}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source tests/lib.sh

# Every shipped scenario validates.
check "validate accepts every shipped scenario" exits 0 "$BIN" validate scenarios/*.yaml

# A bad scenario: exit 2 and a located message naming the key path, expected and found.
cat >"$TMP/bad.yaml" <<'YAML'
name: bad
seed: 3
duration: 1m
model: claude-sonnet-4-5
limits:
  tier: tier-1
arrivals:
  - process: poisson
    rate: fast
workload:
  input_tokens: 100
  output_tokens: 10
  max_tokens: 100
YAML
check "validate rejects a bad rate with exit 2" exits 2 "$BIN" validate "$TMP/bad.yaml"
check "the error names file:line:column, path, expectation and finding" \
    grep -q "bad.yaml:9:11: arrivals\[0\].rate: expected a rate like \"40/min\", found \"fast\"" "$TMP/stderr"
check "run refuses a bad scenario with exit 2" exits 2 "$BIN" run "$TMP/bad.yaml" --out "$TMP/never"
check "a refused run writes nothing" test ! -e "$TMP/never"

check "a missing file is bad input" exits 2 "$BIN" validate "$TMP/does-not-exist.yaml"

# Requests the model refuses: a warning naming the place and the fix, exit 0; the simulator
# answers them 400, not retried.
sed -e 's/^model: .*/model: claude-haiku-4-5/' -e 's/^  max_tokens: .*/  max_tokens: 100000/' -e 's/^    rate: fast/    rate: 60\/min/' \
    "$TMP/bad.yaml" >"$TMP/too-long.yaml"
check "validate warns about max_tokens above the model's maximum, exit 0" exits 0 "$BIN" validate "$TMP/too-long.yaml"
check "... naming the place and the fix" \
    grep -q "too-long.yaml:13:15: workload.max_tokens: warning: max_tokens 100000 is above the maximum output of claude-haiku-4-5-20251001 (64000 tokens).*set max_tokens to at most 64000" "$TMP/stderr"
check "the shipped scenarios and examples validate without warnings" \
    bash -c "'$BIN' validate scenarios/*.yaml examples/*/scenario.yaml 2>&1 >/dev/null | { ! grep warning; }"
check "run of such a scenario: every request fails 400, none retried" \
    bash -c "'$BIN' run '$TMP/too-long.yaml' --strategies sdk-default --out '$TMP/too-long' --quiet 2>/dev/null; python3 -c \"
import json; s = json.load(open('$TMP/too-long/report.json'))['runs'][0]['summary']
assert s['status_counts'] == {'400': s['attempts']} and s['attempts'] == s['requests']['offered'], s['status_counts']\""
check "an unknown flag is bad input" exits 2 "$BIN" run scenarios/quickstart.yaml --no-such-flag
check "an unsupported target is bad input" exits 2 "$BIN" run scenarios/quickstart.yaml --target ftp://127.0.0.1:9
check "an unknown strategy filter is bad input" exits 2 "$BIN" run scenarios/quickstart.yaml --strategies nope

# A run writes the report and the event files, and prints the summary table.
check "run the quickstart" exits 0 "$BIN" run scenarios/quickstart.yaml --out "$TMP/a"
check "the summary table names each strategy" grep -q "^sdk-default " "$TMP/stdout"
check "report.json has the schema" grep -q '"schema" : "limitlab.report/1"' "$TMP/a/report.json"
check "event CSVs exist per strategy" test -s "$TMP/a/events-none.csv" -a -s "$TMP/a/events-sdk-default.csv"
check "event CSV header" grep -q "^request_id,attempt,intended_s,ready_s,sent_s,first_token_s,completed_s,status," "$TMP/a/events-none.csv"

# Same scenario and seed: byte-identical report apart from generated_at; another seed differs.
"$BIN" run scenarios/quickstart.yaml --out "$TMP/b" --quiet
strip() { grep -v '"generated_at"' "$1"; }
check "same seed, same report.json" cmp <(strip "$TMP/a/report.json") <(strip "$TMP/b/report.json")
check "same seed, same events" cmp "$TMP/a/events-sdk-default.csv" "$TMP/b/events-sdk-default.csv"
"$BIN" run scenarios/quickstart.yaml --out "$TMP/c" --quiet --seed 12345
check "another seed, another report" bash -c "! cmp -s <(grep -v generated_at $TMP/a/report.json) <(grep -v generated_at $TMP/c/report.json)"

check "--json prints the report" bash -c "'$BIN' run scenarios/quickstart.yaml --out '$TMP/d' --json | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r[\"schema\"]==\"limitlab.report/1\"; assert len(r[\"runs\"])>=2'"
check "--quiet prints nothing" bash -c "[ -z \"\$('$BIN' run scenarios/quickstart.yaml --out '$TMP/e' --quiet)\" ]"

# Conservation in the report: offered = succeeded + failed + dropped, for every run.
check "nothing disappears from the counts" python3 -c "
import json
r = json.load(open('$TMP/a/report.json'))
for run in r['runs']:
    q = run['summary']['requests']
    assert q['offered'] == q['succeeded'] + q['failed'] + q['dropped'], run['strategy']
    assert q['offered'] == r['arrivals']['offered']
"

check "summary.md is written" grep -q "^| strategy |" "$TMP/a/summary.md"
check "report.json carries time series and bootstrap intervals" python3 -c "
import json
r = json.load(open('$TMP/a/report.json'))
run = r['runs'][0]
ts = run['time_series']
assert sum(ts['offered']) == r['arrivals']['offered']
assert len(ts['bucket_requests']) > 0
ci = run['summary']['confidence']['latency_p99_s']
assert ci['low'] <= ci['estimate'] <= ci['high'], ci
assert run['summary']['cost']['total_usd'] > 0
"

# Decisions.
check "compare ranks the strategies" exits 0 "$BIN" compare scenarios/quickstart.yaml --out "$TMP/cmp"
check "compare prints the ranking with intervals" grep -q "paired bootstrap 95% interval" "$TMP/stdout"
check "compare writes the comparison into report.json" python3 -c "
import json
c = json.load(open('$TMP/cmp/report.json'))['comparison']
assert [x['rank'] for x in c['ranking']] == list(range(1, len(c['ranking']) + 1))
assert c['ranking'][0].get('vs_leader') is None and c['ranking'][1].get('vs_leader') is not None
"
check "compare is deterministic by seed" bash -c "'$BIN' compare scenarios/quickstart.yaml --out '$TMP/cmp2' --json > '$TMP/c1' && '$BIN' compare scenarios/quickstart.yaml --out '$TMP/cmp3' --json > '$TMP/c2' && cmp '$TMP/c1' '$TMP/c2'"
check "size finds the smallest tier" exits 0 "$BIN" size scenarios/quickstart.yaml --slo "p99<30s,success>=0.99" --out "$TMP/size"
check "size names its recommendation" grep -q "smallest that meets the SLO: tier-2" "$TMP/stdout"
check "size writes the search" test -s "$TMP/size/size.json"
check "size rejects a bad SLO" exits 2 "$BIN" size scenarios/quickstart.yaml --slo "p99 about 3s"
check "sweep runs and writes its chart" exits 0 "$BIN" sweep scenarios/quickstart.yaml --vary "arrivals[0].rate=10/min..90/min:5" --out "$TMP/sweep"
check "sweep reports a knee per strategy" grep -q "knee:" "$TMP/sweep/sweep.md"
check "sweep.html has its charts" bash -c "[ \$(grep -o '<svg' '$TMP/sweep/sweep.html' | wc -l) -eq 4 ]"
# Progress (Sources/limitlab/Progress.swift): on a terminal only, never when piped or --quiet.
# `script` gives the command a terminal.
if command -v script >/dev/null; then
    check "sweep on a terminal shows progress with an ETA" bash -c "script -qec \"'$BIN' sweep scenarios/quickstart.yaml --vary 'arrivals[0].rate=10/min..90/min:5' --out '$TMP/prog1'\" /dev/null | tr '\r' '\n' | grep -aq '^sweep  10/10  100%  elapsed .*ETA 0.0s'"
    check "run on a terminal shows the simulation's progress" bash -c "script -qec \"'$BIN' run scenarios/quickstart.yaml --out '$TMP/prog2'\" /dev/null | grep -aq 'simulating quickstart  2/2'"
    check "run --quiet on a terminal shows none" bash -c "! script -qec \"'$BIN' run scenarios/quickstart.yaml --quiet --out '$TMP/prog3'\" /dev/null | grep -aq 'ETA'"
fi
check "a piped sweep writes nothing to stderr" bash -c "[ -z \"\$('$BIN' sweep scenarios/quickstart.yaml --vary 'arrivals[0].rate=10/min..90/min:5' --out '$TMP/prog4' 2>&1 >/dev/null)\" ]"
check "sweep rejects an unknown path" exits 2 "$BIN" sweep scenarios/quickstart.yaml --vary "model=1..2:2"

# Decisions that hold up: the scenario's SLO, every strategy, exit 3 when nothing fits, numbers
# that never round across their threshold, replications in parallel, folders never overwritten.
check "size takes the scenario's SLO when --slo is absent" exits 0 "$BIN" size scenarios/tier1-burst.yaml --out "$TMP/size2"
check "size says where its SLO came from" grep -q "SLO (from the scenario's slo:): slo.attainment >= 0.95" "$TMP/stdout"
check "size sizes every strategy of the scenario" python3 -c "
import json
r = json.load(open('$TMP/size2/size.json'))
assert len(r['strategies']) >= 2 and all([c['strategy'] for c in t['cells']] == r['strategies'] for t in r['trials'])
assert [s['strategy'] for s in r['by_strategy']] == r['strategies']
"
check "size exits 3 when no tier meets the SLO" exits 3 "$BIN" size scenarios/quickstart.yaml --slo "p99<100ms" --out "$TMP/size3"
check "size without a usable SLO names both fixes" bash -c "'$BIN' size scenarios/quickstart.yaml --out '$TMP/size4' 2>&1 >/dev/null | grep -q 'add attainment: 0.99 under slo:, or pass --slo'"
check "a bad --strategies is reported as --strategies" bash -c "'$BIN' size scenarios/quickstart.yaml --strategies nope --slo p99\<30s 2>&1 | grep -q '^limitlab: --strategies: \"nope\"'"
check "size has no --strategy flag" exits 2 "$BIN" size scenarios/quickstart.yaml --strategy none --slo "p99<30s"
check "compare over seeds ranks by paired per-seed differences" exits 0 "$BIN" compare scenarios/quickstart.yaml --replications 4 --jobs 1 --out "$TMP/rep1"
check "compare over seeds names its method" grep -q "paired per seed, 95% Student t interval" "$TMP/stdout"
check "compare with --jobs 2 writes the same report.json as --jobs 1" bash -c "'$BIN' compare scenarios/quickstart.yaml --replications 4 --jobs 2 --out '$TMP/rep2' > /dev/null && cmp <(grep -v generated_at '$TMP/rep1/report.json') <(grep -v generated_at '$TMP/rep2/report.json')"
check "report.json keeps every replication" python3 -c "
import json
r = json.load(open('$TMP/rep1/report.json'))['replication']
assert r['seeds'] == [1, 2, 3, 4] and len(r['replications']) == 4 * len(r['summary'])
s = r['summary'][0]['success_rate']
assert s['low'] <= s['mean'] <= s['high'] and s['n'] == 4
"
check "--seeds and --replications together are refused" exits 2 "$BIN" compare scenarios/quickstart.yaml --replications 2 --seeds 1..2
check "a bad --seeds range is refused" exits 2 "$BIN" compare scenarios/quickstart.yaml --seeds 5..1
check "an existing --out is refused" exits 2 "$BIN" compare scenarios/quickstart.yaml --out "$TMP/rep1"
check "the refusal says how to proceed" grep -q "pass --force" "$TMP/stderr"
check "--force overwrites it" exits 0 "$BIN" compare scenarios/quickstart.yaml --out "$TMP/rep1" --force
check "run over seeds prints intervals and keeps every replication" exits 0 "$BIN" run scenarios/quickstart.yaml --seeds 3..5 --out "$TMP/runrep"
check "run over seeds names the interval method" grep -q "intervals: Student t on the per-seed values" "$TMP/stdout"
check "run over seeds writes the replication section" python3 -c "
import json
r = json.load(open('$TMP/runrep/report.json'))
assert r['scenario']['seed'] == 3 and r['replication']['seeds'] == [3, 4, 5]
assert len(r['replication']['replications']) == 3 * len(r['runs'])
"
check "replications need the simulator" exits 2 "$BIN" run scenarios/quickstart.yaml --target mock --replications 2 --out "$TMP/never2"
check "sweep over a strategy parameter" exits 0 "$BIN" sweep scenarios/tier1-burst.yaml --strategies sdk-default --vary "strategies.sdk-default.max_retries=0..4 step 2" --out "$TMP/sw2"
check "sweep over a strategy parameter marks the knee against the SLO" grep -q "meets the scenario's target 0.95" "$TMP/stdout"
check "sweep.json has attempts and 429s" python3 -c "
import json
r = json.load(open('$TMP/sw2/sweep.json'))
p = r['series'][0]['points']
assert [x['value'] for x in p] == [0, 2, 4] and p[2]['attempts'] > p[0]['attempts'] and 'status_429' in p[0]
"
printf 'name: b\nduration: 5m\nmodel: claude-sonnet-4-5\nlimits: {tier: tier-1, burst: "1/60"}\narrivals: [{process: poisson, rate: 20/min}, {process: burst, at: 1m, count: 10, over: 5s}]\nworkload: {input_tokens: 100, output_tokens: 10, max_tokens: 20}\nstrategies: [none, sdk-default]\nslo: {latency: 30s, attainment: 0.95}\n' > "$TMP/burst.yaml"
check "sweep over a burst count" exits 0 "$BIN" sweep "$TMP/burst.yaml" --vary "arrivals[1].count=10..100 step 30" --replications 3 --out "$TMP/sw3"
check "the burst sweep has every count and a knee rule" python3 -c "
import json
r = json.load(open('$TMP/sw3/sweep.json'))
assert [x['value'] for x in r['series'][0]['points']] == [10, 40, 70, 100] and r['seeds'] == [1, 2, 3]
assert 'lower bound' in r['knee_rule'] and r['series'][0]['points'][0]['intervals']['success_rate']['n'] == 3
"
check "an unknown strategy parameter is refused" exits 2 "$BIN" sweep scenarios/tier1-burst.yaml --vary "strategies.sdk-default.max_retriez=0..4 step 2"
mkdir -p "$TMP/cwd" && BIN_ABS=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
check "two size runs in the same second get distinct folders" bash -c "cd '$TMP/cwd' && for i in 1 2 3; do '$BIN_ABS' size '$PWD/scenarios/quickstart.yaml' --slo 'p99<30s' > /dev/null || exit 1; done; [ \$(ls reports | wc -l) -eq 3 ]"

# The CI gate.
check "run --check passes the quickstart's thresholds" exits 0 "$BIN" run scenarios/quickstart.yaml --out "$TMP/g1" --quiet --check
check "baseline update writes a baseline" exits 0 "$BIN" baseline update "$TMP/g1/report.json" --out "$TMP/base.json"
check "an unchanged run passes its baseline" exits 0 "$BIN" check "$TMP/g1/report.json" --baseline "$TMP/base.json" \
    --junit "$TMP/j.xml" --markdown "$TMP/m.md"
check "JUnit XML has one test case per check" python3 -c "
import xml.etree.ElementTree as ET
root = ET.parse('$TMP/j.xml').getroot()
cases = root.findall('.//testcase')
assert len(cases) == int(root.get('tests')) > 3 and root.get('failures') == '0'
"
check "the Markdown report says all checks pass" grep -q "all .* checks pass" "$TMP/m.md"
# Plant a regression: sdk-default without retries in a copy of the scenario.
sed 's/^  - sdk-default .*$/  - {name: sdk-default, params: {max_retries: 0}}/' scenarios/quickstart.yaml > "$TMP/worse.yaml"
check "the planted regression fails with exit 3" exits 3 "$BIN" run "$TMP/worse.yaml" --out "$TMP/g2" --check --baseline "$TMP/base.json" --junit "$TMP/j2.xml"
check "the failure names the metric" grep -q "FAIL .*sdk-default .*success_rate" "$TMP/stdout"
check "JUnit marks the failures" grep -q "<failure message=" "$TMP/j2.xml"
check "a loose allowance lets it pass" exits 0 "$BIN" check "$TMP/g2/report.json" --baseline "$TMP/base.json" \
    --max-regression "success=5%,slo=5%,goodput=5%"
check "check --json fails with exit 3 on the planted regression" exits 3 "$BIN" check "$TMP/g2/report.json" \
    --baseline "$TMP/base.json" --json
check "... and its JSON names the failed checks" python3 -c "
import json
d = json.load(open('$TMP/stdout'))
assert d['schema'] == 'limitlab.check/1' and d['passed'] is False and d['failed'] > 0
bad = [r for r in d['results'] if not r['passed']]
assert len(bad) == d['failed'] and any(r['strategy'] == 'sdk-default' and r['metric'] == 'success_rate' for r in bad)
assert all(set(r) == {'kind', 'strategy', 'metric', 'check', 'value', 'limit', 'passed', 'detail'} for r in d['results'])
"
check "check --json passes an unchanged run with exit 0" exits 0 "$BIN" check "$TMP/g1/report.json" --baseline "$TMP/base.json" --json
check "... and says so in JSON" python3 -c "
import json; d = json.load(open('$TMP/stdout')); assert d['passed'] is True and d['failed'] == 0 and d['checks'] > 3"
# Help paragraphs are rewrapped at the terminal width; a hard line break inside a sentence shows
# as a short line followed by more of the paragraph.
helpwrap() {
    local c
    for c in "" run compare size sweep check serve validate tiers strategies merge report test; do
        COLUMNS=80 "$BIN" $c --help | awk -v c="${c:-limitlab}" '
            # Read to the end (no early exit): under pipefail a help text written in two
            # pieces would otherwise die of SIGPIPE and fail the check by chance.
            /^USAGE/ { done = 1 }
            done { next }
            prev != "" && length(prev) < 45 && $0 != "" && prev !~ /[.:]$/ && prev !~ /^ / && $0 !~ /^ / {
                print c ": line broken mid-sentence: " prev; bad = 1 }
            { prev = $0 }
            END { exit bad }' || return 1
    done
}
check "sweep past the volume bound is refused before running" exits 2 "$BIN" sweep scenarios/quickstart.yaml --vary "arrivals[0].rate=1/min..1e300/min points 2" --out "$TMP/swb1"
check "... with the estimate in the message" grep -q "limitlab simulates up to" "$TMP/stderr"
check "sweep of max_tokens to 1e300 is refused, not a trap" exits 2 "$BIN" sweep scenarios/quickstart.yaml --vary "workload.max_tokens=1..1e300 points 2" --out "$TMP/swb2"
check "sweep of rpm to 1e308 is refused, not a trap" exits 2 "$BIN" sweep scenarios/quickstart.yaml --vary "limits.rpm=1..1e308 points 3" --out "$TMP/swb3"
check "help texts do not break mid-sentence at 80 columns" helpwrap
check "the top-level help lists every exit code" bash -c "'$BIN' --help | grep -Eq '^  0  success' && for c in 1 2 3 4 5; do '$BIN' --help | grep -Eq \"^  \$c  \" || exit 1; done"
check "run writes HdrHistogram logs beside report.json" bash -c "head -1 '$TMP/g1/none.latency.hlog' | grep -q 'Histogram log format version' && grep -q ',HISTF' '$TMP/g1/sdk-default.ttft.hlog'"
check "check without thresholds or baseline is bad input" exits 2 "$BIN" check "$TMP/g1/report.json" --max-regression p99=1%
check "a baseline of another scenario fails" bash -c "'$BIN' run scenarios/tier1-burst.yaml --out '$TMP/g3' --quiet && ! '$BIN' check '$TMP/g3/report.json' --baseline '$TMP/base.json' > /dev/null"
printf 'name: t\nduration: 1m\nmodel: claude-sonnet-4-5\nlimits: {tier: tier-1}\narrivals: [{process: poisson, rate: 10/min}]\nworkload: {input_tokens: 10, output_tokens: 10, max_tokens: 20}\nthresholds: ["latency.p98 < 3s"]\n' > "$TMP/badthreshold.yaml"
check "an unknown threshold metric is a validation error" exits 2 "$BIN" validate "$TMP/badthreshold.yaml"
check "... naming the known metrics" grep -q "unknown metric \"latency.p98\"" "$TMP/stderr"

# Live targets over real HTTP (loopback only).
cat >"$TMP/live.yaml" <<'YAML'
name: live
seed: 7
duration: 8s
model: claude-sonnet-4-5
limits: {rpm: 30, itpm: 1000000, otpm: 1000000, burst: "1/60"}
server: {ttft: {dist: lognormal, median: 100ms, sigma: 0.3}, output_rate: 500/s}
arrivals: [{process: poisson, rate: 2/s}]
workload: {input_tokens: 300, output_tokens: 40, max_tokens: 100}
strategies: [none, sdk-default]
thresholds: ["success_rate >= 0.1"]
YAML
check "run --target mock serves the scenario from the embedded mock" exits 0 "$BIN" run "$TMP/live.yaml" --target mock --out "$TMP/m1"
"$BIN" run "$TMP/live.yaml" --target sim --out "$TMP/s1" --quiet
check "sim and mock agree on the 429 count (within 2)" python3 -c "
import json
m = json.load(open('$TMP/m1/report.json')); s = json.load(open('$TMP/s1/report.json'))
assert m['scenario']['target'] == 'mock' and m['live']['partial'] is False
for a, b in zip(m['runs'], s['runs']):
    x, y = a['summary']['status_counts'].get('429', 0), b['summary']['status_counts'].get('429', 0)
    assert abs(x - y) <= 2, (a['strategy'], x, y)
"
check "a repeated live run passes against the first as baseline" exits 0 "$BIN" run "$TMP/live.yaml" --target mock --out "$TMP/m2" --quiet --check --baseline "$TMP/m1/report.json"
check "a server that is not listening gives connection errors, not a crash (stopped by --max-requests: exit 5)" \
    exits 5 "$BIN" run "$TMP/live.yaml" --target http://127.0.0.1:9 --out "$TMP/m3" --quiet --max-requests 5
check "... and says the run is partial" grep -q "partial run: the run stopped early (max_requests)" "$TMP/stderr"
check "... recorded in the report" python3 -c "
import json
r = json.load(open('$TMP/m3/report.json'))
assert sum(r['live']['error_causes'].values()) > 0, r['live']
assert all(run['summary']['requests']['succeeded'] == 0 for run in r['runs'])
"
# A URL that hides a host behind "@" in its fragment or query is refused (here both hosts are
# loopback, so nothing could leave the machine even if the check failed).
check "--target with a fragment is bad input" exits 2 "$BIN" run "$TMP/live.yaml" --target 'http://127.0.0.2:9/#@127.0.0.1' --out "$TMP/never7"
sed 's#^seed: 7#seed: 7\ntarget: "http://127.0.0.2:9/?x=@localhost"#' "$TMP/live.yaml" > "$TMP/hidden-host.yaml"
check "a scenario target: with a query is bad input" exits 2 "$BIN" run "$TMP/hidden-host.yaml" --out "$TMP/never8"
check "--target env without ANTHROPIC_BASE_URL is bad input" exits 2 env -u ANTHROPIC_BASE_URL "$BIN" run "$TMP/live.yaml" --target env --out "$TMP/never9"
# --target env: the base URL the official SDKs read, here a `limitlab serve` on a free port.
"$BIN" serve --port 0 > "$TMP/serve-env.out" 2>/dev/null &
serve_pid=$!
for _ in $(seq 50); do grep -q listening "$TMP/serve-env.out" 2>/dev/null && break; sleep 0.1; done
env_url=$(sed -n 's/^listening on //p' "$TMP/serve-env.out" | head -1)
check "--target env runs against ANTHROPIC_BASE_URL" exits 0 env ANTHROPIC_BASE_URL="$env_url" "$BIN" run "$TMP/live.yaml" --target env --out "$TMP/env1" --quiet
check "the env run's report names the URL" grep -q "$env_url" "$TMP/env1/report.json"
kill -TERM $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null
check "... also with --workers" exits 2 "$BIN" run "$TMP/hidden-host.yaml" --workers 2 --out "$TMP/never9"
check "... naming the rule" grep -q "no user info, query or fragment" "$TMP/stderr"
check "a non-loopback target needs --max-cost-usd" exits 2 env ANTHROPIC_API_KEY=sk-ant-'test-not-a-real-key' "$BIN" run "$TMP/live.yaml" --target https://api.example.invalid --out "$TMP/never2"
check "... and the key never appears in what it prints" bash -c "! grep -q 'sk-ant-test' '$TMP/stdout' '$TMP/stderr'"
"$BIN" run "$TMP/live.yaml" --target mock --out "$TMP/m4" --quiet > /dev/null 2>&1 &
pid=$!
sleep 3; kill -INT $pid; wait $pid; code=$?
check "SIGINT stops a live run cleanly with the partial-run code (exit 5)" test "$code" -eq 5
check "... with a partial report that loses nothing" python3 -c "
import json
r = json.load(open('$TMP/m4/report.json'))
assert r['live']['partial'] is True and r['live']['stop_reason'] == 'interrupted', r['live']
for run in r['runs']:
    q = run['summary']['requests']
    assert q['offered'] == q['succeeded'] + q['failed'] + q['dropped'] > 0
"

# A signal during start-up (here while a 60,000-row trace loads, about a second) is held for the
# run's handler: exit 5 with a partial report, not death by signal with none.
python3 -c "
print('at_s,input_tokens,output_tokens,max_tokens')
for i in range(60000): print(f'{i*0.01:.2f},100,10,20')" > "$TMP/startup.csv"
printf 'name: startup\nseed: 7\nmodel: claude-sonnet-4-5\nlimits: {rpm: 30, itpm: 1000000, otpm: 1000000}\narrivals: [{process: trace, file: startup.csv}]\nworkload: {input_tokens: 1, output_tokens: 1, max_tokens: 1}\nstrategies: [none]\n' > "$TMP/startup.yaml"
"$BIN" run "$TMP/startup.yaml" --target mock --out "$TMP/m6" --quiet > /dev/null 2>&1 &
pid=$!
sleep 0.2; kill -INT $pid; wait $pid; code=$?
check "SIGINT during start-up is not lost: exit 5" test "$code" -eq 5
check "... with a report marked interrupted" python3 -c "
import json
r = json.load(open('$TMP/m6/report.json'))
assert r['live']['partial'] is True and r['live']['stop_reason'] == 'interrupted', r['live']
"

# SIGINT during a simulation: the strategy in progress finishes (one at a time with --jobs 1),
# the rest are not run and named, the report holds the finished ones, exit 5. (An hour of 40/s
# per strategy: about 2 s each in a debug build, so the signal at 1 s finds most not run.)
printf 'name: long-sim\nseed: 7\nmodel: claude-sonnet-4-5\nlimits: {rpm: 3000, itpm: 10000000, otpm: 10000000}\narrivals: [{process: poisson, rate: 40/s}]\nduration: 1h\nworkload: {input_tokens: 100, output_tokens: 10, max_tokens: 20}\nstrategies: [none, sdk-default, aimd-rate, token-bucket, header-paced, gcra]\n' > "$TMP/long-sim.yaml"
"$BIN" run "$TMP/long-sim.yaml" --jobs 1 --out "$TMP/sim-int" --quiet > /dev/null 2> "$TMP/sim-int.err" &
pid=$!
sleep 1; kill -INT $pid; wait $pid; code=$?
check "SIGINT during a simulation keeps the finished strategies: exit 5" test "$code" -eq 5
check "... naming the strategies not run" grep -q "not run: .*gcra" "$TMP/sim-int.err"
check "... with a report of those that finished" python3 -c "
import json
r = json.load(open('$TMP/sim-int/report.json'))
assert 1 <= len(r['runs']) < 6, len(r['runs'])
"
"$BIN" compare "$TMP/long-sim.yaml" --jobs 2 --out "$TMP/cmp-int" > /dev/null 2> "$TMP/cmp-int.err" &
pid=$!
sleep 1; kill -INT $pid; wait $pid; code=$?
check "SIGINT during compare compares the strategies that finished: exit 5" test "$code" -eq 5
check "... naming the others" grep -q "not run: .*gcra" "$TMP/cmp-int.err"
check "... in a report with a ranking" python3 -c "
import json
r = json.load(open('$TMP/cmp-int/report.json'))
assert 2 <= len(r['runs']) < 6 and len(r['comparison']['ranking']) == len(r['runs']), len(r['runs'])
"
serve_ok=0
for i in 1 2 3 4 5; do
    "$BIN" serve --port 0 > /dev/null 2>&1 &
    pid=$!
    sleep 0.$i; kill -TERM $pid; wait $pid && serve_ok=$((serve_ok + 1))
done
check "SIGTERM at serve's start stops it cleanly (5 of 5 exit 0)" test "$serve_ok" -eq 5

# `limitlab test`: flag mistakes are found before CMD runs, and an earlier test's folder is kept.
check "test --max-regression without --baseline is refused before CMD runs" \
    exits 2 "$BIN" test scenarios/quickstart.yaml --max-regression goodput=10% --out "$TMP/t-never" -- touch "$TMP/t-ran"
check "... and CMD did not run" test ! -e "$TMP/t-ran"
mkdir -p "$TMP/t-old" && echo earlier > "$TMP/t-old/report.json"
check "test --out into an earlier test's folder is refused (exit 2)" \
    exits 2 "$BIN" test scenarios/quickstart.yaml --out "$TMP/t-old" -- true
check "... leaving it as it was" grep -q earlier "$TMP/t-old/report.json"

check "a spending guard that stops the run before it sends anything is not a success (exit 5)" \
    exits 5 "$BIN" run "$TMP/live.yaml" --target mock --out "$TMP/m5" --quiet --max-cost-usd 0
check "... its report is marked partial and loses nothing" python3 -c "
import json
r = json.load(open('$TMP/m5/report.json'))
assert r['live']['partial'] is True and r['live']['stop_reason'] == 'max_cost', r['live']
for run in r['runs']:
    q = run['summary']['requests']
    assert q['offered'] == q['succeeded'] + q['failed'] + q['dropped']
"
check "--help documents the exit codes" bash -c "'$BIN' --help | grep -q '5  a partial live run' && '$BIN' run --help | grep -q '5 a live run that did not'"
check "README documents the partial-run exit code" grep -q '\*\*5\*\* a partial live run' README.md
# Each GitHub Actions job in the README installs what the build links: `make setup`, or an
# apt-get install of every package in the Makefile's APT_PACKAGES.
readme_jobs_install_setup() {
    local pkgs
    pkgs=$(sed -n 's/^APT_PACKAGES := //p' Makefile)
    [ -n "$pkgs" ] || { echo "no APT_PACKAGES in the Makefile"; return 1; }
    python3 - "$pkgs" <<'PY'
import re, sys
pkgs = sys.argv[1].split()
jobs = [b for b in re.findall(r"```yaml\n(.*?)```", open("README.md").read(), re.S) if "runs-on:" in b]
assert jobs, "no GitHub Actions job in README.md"
for job in jobs:
    name = re.search(r"^# (\S+)", job, re.M)
    if re.search(r"^\s*- run: make setup\b", job, re.M):
        continue
    installs = " ".join(re.findall(r"apt-get install[^\n]*", job))
    missing = [p for p in pkgs if p not in installs.split()]
    assert not missing, f"{name.group(1) if name else 'a job'}: installs neither with make setup nor {' '.join(missing)}"
PY
}
check "README's CI jobs install every package make setup installs" readme_jobs_install_setup

check "tiers prints the catalog" bash -c "'$BIN' tiers | grep -q 'sonnet-4.x'"
check "tiers --json is JSON" bash -c "'$BIN' tiers --json --scheme 2026 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(r[\"scheme\"]==\"2026\" for r in d[\"limits\"])'"
check "tiers --model filters by class" bash -c "'$BIN' tiers --model claude-3-5-haiku | grep -q 'haiku-3.5' && ! '$BIN' tiers --model claude-3-5-haiku | grep -q 'sonnet'"
check "tiers rejects an unknown scheme" exits 2 "$BIN" tiers --scheme 1999
check "strategies lists sdk-default with its parameters" bash -c "'$BIN' strategies | grep -q 'max_retries'"
check "docs/strategies.md is current (make docs)" bash -c "cmp -s docs/strategies.md <(cat docs/strategies.head.md; '$BIN' strategies --markdown)"
check "strategies --json is JSON" bash -c "'$BIN' strategies --json | python3 -c 'import json,sys; assert any(s[\"name\"]==\"none\" for s in json.load(sys.stdin))'"

# merge: runs of one scenario become one report; runs of different scenarios are refused (exit 4).
"$BIN" run scenarios/shared-quota.yaml --out "$TMP/q1" --quiet
"$BIN" run scenarios/shared-quota.yaml --seed 2 --out "$TMP/q2" --quiet
check "merge writes one report of both runs" bash -c "'$BIN' merge '$TMP/q1' '$TMP/q2' --out '$TMP/mm' --quiet && python3 -c 'import json; a,b,m=(json.load(open(d+\"/report.json\")) for d in (\"$TMP/q1\",\"$TMP/q2\",\"$TMP/mm\")); assert m[\"arrivals\"][\"offered\"]==a[\"arrivals\"][\"offered\"]+b[\"arrivals\"][\"offered\"]; assert m[\"runs\"][0][\"summary\"][\"workers\"][\"count\"]==8'"
"$BIN" run scenarios/quickstart.yaml --out "$TMP/q3" --quiet
check "merge refuses runs of another scenario (exit 4)" exits 4 "$BIN" merge "$TMP/q1" "$TMP/q3" --out "$TMP/mx"
check "merge of a missing directory is bad input (exit 2)" exits 2 "$BIN" merge "$TMP/q1" "$TMP/nowhere" --out "$TMP/mx"
cp "$TMP/q1/report.json" "$TMP/q1-before.json"
check "merge refuses to write over one of its runs (exit 2)" exits 2 "$BIN" merge "$TMP/q1" "$TMP/q2" --out "$TMP/q1/"
check "... naming the clash" grep -q "would overwrite that run" "$TMP/stderr"
check "... and run A is untouched" cmp "$TMP/q1/report.json" "$TMP/q1-before.json"
check "merge refuses the same run twice (exit 2)" exits 2 "$BIN" merge "$TMP/q1" "$TMP/q1/." --out "$TMP/my"
check "... saying it would count every request twice" grep -q "count every request twice" "$TMP/stderr"
cp -r "$TMP/q1" "$TMP/q1-copy"
check "merge refuses a copy of the same run (exit 2)" exits 2 "$BIN" merge "$TMP/q1" "$TMP/q1-copy" --out "$TMP/my"
check "merge --scenario of another scenario is a mismatch (exit 4)" exits 4 "$BIN" merge "$TMP/q1" "$TMP/q2" --out "$TMP/my" --scenario scenarios/quickstart.yaml
sed 's/"limitlab.report\/1"/"limitlab.report\/2"/' "$TMP/q1/report.json" > "$TMP/v2.json"
check "check refuses a report of another schema (exit 2)" exits 2 "$BIN" check "$TMP/v2.json" --max-regression p99=1%
check "... naming the schema" grep -q "schema limitlab.report/2" "$TMP/stderr"
mkdir -p "$TMP/q2v2" && cp "$TMP/q2"/* "$TMP/q2v2/" && cp "$TMP/v2.json" "$TMP/q2v2/report.json"
check "merge refuses a report of another schema (exit 2)" exits 2 "$BIN" merge "$TMP/q1" "$TMP/q2v2" --out "$TMP/my"


# Exit codes of bad flags and output paths (2), found before any work is done.
touch "$TMP/afile"
check "--out that is a file is bad input" exits 2 "$BIN" run scenarios/quickstart.yaml --out "$TMP/afile"
check "... saying so" grep -q "is a file, not a directory" "$TMP/stderr"
check "--out under a file is bad input" exits 2 "$BIN" run scenarios/quickstart.yaml --out "$TMP/afile/sub"
check "an empty --out is bad input" exits 2 "$BIN" run scenarios/quickstart.yaml --out ""
check "a too-long --out is bad input" exits 2 "$BIN" run scenarios/quickstart.yaml --out "$TMP/$(printf 'x%.0s' $(seq 1 300))"
check "--out into a non-empty directory is refused (never overwrite an earlier run)" exits 2 "$BIN" run scenarios/quickstart.yaml --out "$TMP/a"
check "... naming what is there" grep -q "already holds files" "$TMP/stderr"
mkdir -p "$TMP/empty-out"
check "--out into an empty directory is fine" exits 0 "$BIN" run scenarios/quickstart.yaml --out "$TMP/empty-out" --quiet
check "compare --out into a non-empty directory is refused" exits 2 "$BIN" compare scenarios/quickstart.yaml --out "$TMP/a"
check "baseline update --out a directory is bad input" exits 2 "$BIN" baseline update "$TMP/a/report.json" --out "$TMP"
check "... saying it wants a file" grep -q "is a directory; give a file path" "$TMP/stderr"
check "serve --threads 100000 is refused, not a crash" exits 2 "$BIN" serve --threads 100000 --port 0
check "--strategies \"\" is bad input" exits 2 "$BIN" run scenarios/quickstart.yaml --strategies "" --out "$TMP/never3"
check "--max-requests 0 is bad input" exits 2 "$BIN" run "$TMP/live.yaml" --target mock --max-requests 0 --out "$TMP/never4"
SECONDS=0
check "a --max-regression typo is found before the run" exits 2 "$BIN" run "$TMP/live.yaml" --target mock --out "$TMP/never5" --check --baseline "$TMP/m1/report.json" --max-regression "p99=lots"
check "... at once (no 8-second run first), writing nothing" bash -c "[ $SECONDS -lt 4 ] && [ ! -e '$TMP/never5' ]"
check "a missing --baseline is found before the run" exits 2 "$BIN" run "$TMP/live.yaml" --target mock --out "$TMP/never6" --check --baseline "$TMP/nope.json"
check "... writing nothing" test ! -e "$TMP/never6"
# Live telemetry flags (docs/telemetry.md): bad values are usage errors found before the run.
check "--metrics-port 70000 is bad input" exits 2 "$BIN" run "$TMP/live.yaml" --target mock --metrics-port 70000 --out "$TMP/never7"
check "--otlp that is not an http(s) URL is bad input" exits 2 "$BIN" run "$TMP/live.yaml" --target mock --otlp ftp://x --out "$TMP/never7"
check "--otlp-interval 0 is bad input" exits 2 "$BIN" run "$TMP/live.yaml" --target mock --otlp http://127.0.0.1:4318 --otlp-interval 0 --out "$TMP/never7"
check "--metrics-port on a simulation is bad input" exits 2 "$BIN" run scenarios/quickstart.yaml --metrics-port 0 --out "$TMP/never7"
check "... saying it needs a live target" grep -q "watch a live run" "$TMP/stderr"
check "... writing nothing" test ! -e "$TMP/never7"
telemetry_scrape() { # a scrape during a live run sees the attempt counter
    "$BIN" run "$TMP/live.yaml" --target mock --metrics-port 0 --out "$TMP/tm" >"$TMP/tm.out" 2>"$TMP/tm.err" &
    local pid=$! url=""
    for _ in $(seq 1 100); do
        url=$(grep -o 'http://[^ ]*/metrics' "$TMP/tm.err" | head -1)
        [ -n "$url" ] && break
        sleep 0.1
    done
    sleep 2
    python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$url" >"$TMP/tm.metrics"
    wait "$pid" && grep -q '^limitlab_live_attempts_sent_total{strategy=' "$TMP/tm.metrics"
}
check "run --metrics-port 0 prints its URL and serves the live metrics during the run" telemetry_scrape

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
