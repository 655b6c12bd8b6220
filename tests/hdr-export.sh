#!/usr/bin/env bash
# The .hlog files of `limitlab run` read back by HdrHistogram's own Python package
# (`hdrhistogram` on PyPI): a simulated run and a live run against the mock, each checked
# against its report.json by tests/hdr_check.py. Also: a corrupted payload is refused by that
# reader, so the check can fail.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LIMITLAB:-.build/debug/limitlab}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import hdrh' 2>/dev/null; then
    echo "installing hdrhistogram from PyPI" >&2
    "$PYTHON" -m venv "$TMP/venv" && PYTHON="$TMP/venv/bin/python"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check hdrhistogram >&2
fi

"$BIN" run scenarios/quickstart.yaml --out "$TMP/sim" --quiet || [ $? -eq 3 ]
"$PYTHON" tests/hdr_check.py "$TMP/sim"

cat > "$TMP/live.yaml" <<'YAML'
name: hdr-live
model: claude-sonnet-4-5
requests: 60
limits:
  rpm: 6000
  itpm: 10000000
  otpm: 10000000
server:
  ttft: {dist: uniform, min: 20ms, max: 80ms}
  output_rate: 2000/s
arrivals:
  - process: poisson
    rate: 30/s
workload:
  input_tokens: 50
  output_tokens: 40
  max_tokens: 64
strategies: [none]
YAML
"$BIN" run "$TMP/live.yaml" --target mock --out "$TMP/live" --quiet
"$PYTHON" tests/hdr_check.py "$TMP/live"

# A log whose payload is damaged must not pass.
sed -E '0,/^[0-9.]+,[0-9.]+,[0-9.]+,HISTFAAAA/s//&x/' "$TMP/sim/none.latency.hlog" > "$TMP/bad.hlog"
cp "$TMP/bad.hlog" "$TMP/sim/none.latency.hlog"
if "$PYTHON" tests/hdr_check.py "$TMP/sim" >/dev/null 2>&1; then
    echo "FAIL: a damaged .hlog passed the check"; exit 1
fi
echo "ok: .hlog files read back by hdrh (simulated and live runs); a damaged one is refused"
