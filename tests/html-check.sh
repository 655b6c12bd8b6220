#!/usr/bin/env bash
# Opens limitlab report.html files in headless Chromium (Debian package `chromium`) and checks
# them: no console messages, no network requests, every chart in the DOM with a visible box
# and drawn lines, and a screenshot that is not blank where the charts are.
# The work is in tests/html-check.py (Python 3 standard library only).
#
# Usage: tests/html-check.sh [--screenshots DIR] REPORT.html...
# Prints "N passed, N failed"; exits 1 on a failed check, 2 when chromium or python3 is missing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
    echo "usage: tests/html-check.sh [--screenshots DIR] REPORT.html..." >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "html-check: python3 not found (apt-get install python3)" >&2; exit 2; }
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
    echo "html-check: chromium not found (apt-get install chromium, or set CHROMIUM)" >&2
    exit 2
fi
exec python3 "$here/html-check.py" --chromium "$CHROMIUM" "$@"
