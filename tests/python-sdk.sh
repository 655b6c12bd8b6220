# Sourced by the tests that run Python clients: sets PYTHON to an interpreter that can import
# the official `anthropic` SDK, installing it from PyPI (into a private venv under $1 when the
# system Python refuses global installs). Returns 2 when that is impossible.
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "$PYTHON not found (apt-get install python3)" >&2; return 2; }
# The clients are judged with the latest release, so an existing copy is upgraded; offline, an
# installed copy is used with a warning.
if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check --upgrade anthropic >&2 2>/dev/null; then
    if "$PYTHON" -c 'import anthropic' 2>/dev/null; then
        echo "warning: could not upgrade the anthropic SDK from PyPI; using the installed one" >&2
    else
        "$PYTHON" -m venv "$1/venv" && PYTHON="$1/venv/bin/python" &&
            "$PYTHON" -m pip install --quiet --disable-pip-version-check --upgrade anthropic >&2 ||
            { echo "cannot install the anthropic package" >&2; return 2; }
    fi
fi
echo "anthropic SDK $("$PYTHON" -c 'import anthropic; print(anthropic.__version__)')" >&2
export PYTHON
