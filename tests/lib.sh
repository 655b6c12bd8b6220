# Shared by the shell suites (source it after setting TMP): `check NAME CMD...` counts a pass or
# a failure (printing the command's output on failure); `exits CODE CMD...` succeeds when CMD
# exits with CODE, leaving its output in $TMP/stdout and $TMP/stderr.
passed=0
failed=0

check() { # name, then a command that must succeed
    local name=$1; shift
    if "$@" >"$TMP/out" 2>&1; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$TMP/out" | head -20
    fi
}

exits() { # expected code, command...
    local want=$1; shift
    "$@" >"$TMP/stdout" 2>"$TMP/stderr"
    local got=$?
    [ "$got" -eq "$want" ] || { echo "exit $got, wanted $want"; cat "$TMP/stderr"; return 1; }
}
