# Sourced by the tests that run Python clients: sets PYTHON to an interpreter that can import
# the official `anthropic` SDK, installing it from PyPI (into a private venv under $1 when the
# system Python refuses global installs). Returns 2 when that is impossible.
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "$PYTHON not found (apt-get install python3)" >&2; return 2; }
if ! "$PYTHON" -c 'import anthropic' 2>/dev/null; then
    echo "installing the anthropic SDK from PyPI" >&2
    if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check anthropic >&2; then
        "$PYTHON" -m venv "$1/venv" && PYTHON="$1/venv/bin/python" &&
            "$PYTHON" -m pip install --quiet --disable-pip-version-check anthropic >&2 ||
            { echo "cannot install the anthropic package" >&2; return 2; }
    fi
fi
export PYTHON
