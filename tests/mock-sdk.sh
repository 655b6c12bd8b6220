#!/usr/bin/env bash
# Integration test: the official Python SDK (`pip install anthropic`) against `limitlab serve`.
# Starts the mock on a free loopback port with a config of its own, runs tests/mock_sdk_test.py
# (messages.create, messages.stream, count_tokens, prompt caching, a 429's retry-after honoured
# by the SDK's retry, error classes, a tool-calling loop, validation errors, model ids and
# pagination, stop sequences, thinking, structured output; litellm's and langchain-anthropic's
# tool calling and structured output), then checks that SIGTERM and SIGINT stop the server
# cleanly. Installs the SDK from PyPI when it is not importable, and tries litellm and
# langchain-anthropic (their checks are skipped when they cannot be installed).
#
# Usage: LIMITLAB=path/to/limitlab tests/mock-sdk.sh
# Prints "N passed, N failed"; exits 1 on a failed check, 2 when it cannot run.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
LIMITLAB=${LIMITLAB:?set LIMITLAB to the limitlab binary (e.g. LIMITLAB=\$(swift build --show-bin-path)/limitlab)}
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "mock-sdk: $PYTHON not found (apt-get install python3)" >&2; exit 2; }

work=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$PYTHON" -c 'import anthropic' 2>/dev/null; then
    echo "mock-sdk: installing the anthropic SDK from PyPI" >&2
    if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check anthropic >&2; then
        # An externally managed Python refuses global installs: use a private venv instead.
        "$PYTHON" -m venv "$work/venv" && PYTHON="$work/venv/bin/python" &&
            "$PYTHON" -m pip install --quiet --disable-pip-version-check anthropic >&2 ||
            { echo "mock-sdk: cannot install the anthropic package" >&2; exit 2; }
    fi
fi

for pkg in litellm:litellm langchain_anthropic:langchain-anthropic; do
    if ! "$PYTHON" -c "import ${pkg%%:*}" 2>/dev/null; then
        echo "mock-sdk: installing ${pkg#*:} from PyPI" >&2
        "$PYTHON" -m pip install --quiet --disable-pip-version-check "${pkg#*:}" >&2 ||
            echo "mock-sdk: cannot install ${pkg#*:}; its checks are skipped" >&2
    fi
done

cat >"$work/mock.yaml" <<'EOF'
seed: 7
orgs:
  - id: org-fast
    keys: [sk-fast]
    limits: {tier: tier-4}
  # One request per bucket, refilled every 2 s: the 2nd request in a row gets retry-after: 2.
  - id: org-tiny
    keys: [sk-tiny]
    limits: {rpm: 30, itpm: 1000000, otpm: 1000000, burst: "1/30"}
  - id: org-tiny2
    keys: [sk-tiny2]
    limits: {rpm: 30, itpm: 1000000, otpm: 1000000, burst: "1/30"}
server:
  ttft: 20ms
  output_rate: 500/s
  reject_latency: 0ms
cache:
  min_cacheable_tokens: 100
EOF

# Starts the server; sets pid and url, or fails.
start_server() {
    : >"$work/out"
    "$LIMITLAB" serve --config "$work/mock.yaml" --port 0 >"$work/out" 2>"$work/err" &
    pid=$!
    local line=""
    for _ in $(seq 200); do
        line=$(head -n 1 "$work/out")
        [ -n "$line" ] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "mock-sdk: limitlab serve exited before listening:" >&2
            cat "$work/err" >&2
            return 1
        fi
        sleep 0.05
    done
    case "$line" in
        "listening on http://127.0.0.1:"[0-9]*) url=${line#listening on } ;;
        *) echo "mock-sdk: unexpected first line: \"$line\"" >&2; return 1 ;;
    esac
}

# Sends a signal and checks the server exits 0 within 5 s.
stops_on() {
    local sig=$1
    kill "-$sig" "$pid"
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "FAIL - limitlab serve still running 5 s after SIG$sig"
        return 1
    fi
    wait "$pid"
    local code=$?
    pid=""
    if [ "$code" -ne 0 ]; then
        echo "FAIL - limitlab serve exited $code after SIG$sig"
        return 1
    fi
    echo "ok - limitlab serve stops cleanly on SIG$sig"
}

passed=0
failed=0
start_server || exit 2
"$PYTHON" "$here/mock_sdk_test.py" "$url" "$work/counts"
if [ -s "$work/counts" ]; then
    read -r p f <"$work/counts"
    passed=$((passed + p)); failed=$((failed + f))
else
    echo "FAIL - mock_sdk_test.py did not finish"
    failed=$((failed + 1))
fi
if stops_on TERM; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
start_server || exit 2
if stops_on INT; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
