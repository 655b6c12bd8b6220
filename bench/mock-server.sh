# Sourced by the bench scripts: one `limitlab serve` at a time, pinned to core 0 with one
# event-loop thread on a free port. The caller sets WORK (logs), BIN (the limitlab binary),
# optionally SERVE_PREFIX (e.g. "chrt -f 20"), SERVE_EXTRA (more serve flags) and say(); start_server sets PORT and SERVER_CMD
# (the command as printed next to each figure).
SERVER_PID=""

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

# start_server CONFIG
start_server() {
  local cfg=$1 log=$WORK/serve-$(basename "$1" .yaml).log
  SERVER_CMD="${SERVE_PREFIX:+$SERVE_PREFIX }taskset -c 0 $BIN serve --config $cfg --host 127.0.0.1 --port 0 --threads 1${SERVE_EXTRA:+ $SERVE_EXTRA}"
  $SERVER_CMD >"$log" 2>"$log.err" &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 100); do
    PORT=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" | head -1)
    [ -n "$PORT" ] && break
    sleep 0.1
  done
  [ -n "$PORT" ] || { say "$(basename "$0"): server did not start:"; cat "$log.err" >&2; exit 1; }
}
