#!/usr/bin/env bash
# Opens limitlab report.html and sweep.html files in headless Chromium (Debian package
# `chromium`) driven by Playwright for Python (PyPI `playwright`, installed here when missing;
# it drives the system chromium, no browser download), and checks them: no console message, no
# network request, the CSP allows only the page's own script, every chart drawn, no table
# clipped at 1,280 px, a legend click hides a strategy in every chart, a drag zooms every time
# chart, hovering shows values. The work is in tests/html-check.py.
#
# Usage: tests/html-check.sh [--screenshots DIR] [--no-sweep] FILE.html...
#   Besides the files, renders a sweep and a compare --replications 4 of scenarios/quickstart.yaml
#   and runs of scenarios/batch-offload.yaml and scenarios/fallback.yaml (the batch-offload and
#   models sections) with $LIMITLAB (default: the debug build, when it exists) and checks their
#   sweep.html and report.html too; --no-sweep skips that.
# Prints "N passed, N failed"; exits 1 on a failed check, 2 when chromium, python3 or
# Playwright is missing and cannot be installed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
args=() sweep=1
while [ $# -gt 0 ]; do
    case "$1" in
        --no-sweep) sweep=0 ;;
        --screenshots) args+=("$1" "$2"); shift ;;
        *) args+=("$1") ;;
    esac
    shift
done
command -v python3 >/dev/null || { echo "html-check: python3 not found (apt-get install python3)" >&2; exit 2; }
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
    echo "html-check: chromium not found (apt-get install chromium, or set CHROMIUM)" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PYTHON=python3
if ! "$PYTHON" -c "import playwright.sync_api" 2>/dev/null; then
    echo "html-check: installing Playwright for Python from PyPI" >&2
    if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check playwright >&2; then
        # An externally managed Python refuses global installs: use a private venv instead.
        "$PYTHON" -m venv "$work/venv" && PYTHON="$work/venv/bin/python" &&
            "$PYTHON" -m pip install --quiet --disable-pip-version-check playwright >&2 ||
            { echo "html-check: cannot install Playwright (python3 -m pip install playwright)" >&2; exit 2; }
    fi
fi
LIMITLAB=${LIMITLAB:-$root/.build/debug/limitlab}
if [ "$sweep" = 1 ] && [ -x "$LIMITLAB" ]; then
    "$LIMITLAB" sweep "$root/scenarios/quickstart.yaml" --vary "arrivals[0].rate=20/min..140/min:7" \
        --out "$work/sweep" >/dev/null || { echo "html-check: $LIMITLAB sweep failed" >&2; exit 1; }
    args+=("$work/sweep/sweep.html")
    # A replicated compare: its strategy table must show the across-seed intervals.
    "$LIMITLAB" compare "$root/scenarios/quickstart.yaml" --replications 4 --out "$work/replicated" --json >/dev/null ||
        { echo "html-check: $LIMITLAB compare --replications failed" >&2; exit 1; }
    args+=("$work/replicated/report.html")
    # Deferrable requests and model routing: report.html's "Batch offload" and "Models" sections.
    for sc in batch-offload fallback; do
        "$LIMITLAB" run "$root/scenarios/$sc.yaml" --out "$work/$sc" --quiet >/dev/null ||
            { echo "html-check: $LIMITLAB run scenarios/$sc.yaml failed" >&2; exit 1; }
        args+=("$work/$sc/report.html")
    done
fi
if [ ${#args[@]} -eq 0 ]; then
    echo "usage: tests/html-check.sh [--screenshots DIR] [--no-sweep] FILE.html..." >&2
    exit 2
fi
"$PYTHON" "$here/html-check.py" --chromium "$CHROMIUM" "${args[@]}"
