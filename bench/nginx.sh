# Sourced by mock-bench.sh: nginx (Debian) as the static-file peer of the mock server.
# nginx answers POST /v1/messages with a file holding the mock's body, the mock's status and
# the mock's headers (captured with curl), so both servers put the same bytes on the wire.
# One worker process, access log off, keep-alive; pinned with taskset like the mock.

NGINX_PID=""
ensure_nginx() {
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] && return 0
  say "mock-bench: installing nginx-light"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx-light >&2
}
nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# nginx_start DIR STATUS BODY_FILE HEADER_FILE CORE: serves BODY_FILE with STATUS and the
# headers of HEADER_FILE (curl -D output; content-length/-type and connection are nginx's own).
nginx_start() {
  local dir=$1 status=$2 body=$3 head=$4 core=$5
  rm -rf "$dir" && mkdir -p "$dir/www" "$dir/tmp"
  dir=$(cd "$dir" && pwd)   # nginx reads relative paths from its own prefix
  cp "$body" "$dir/www/body.json"
  local adds
  adds=$(tr -d '\r' < "$head" | awk -F': ' 'NR > 1 && NF >= 2 && tolower($1) !~ /^(content-length|content-type|connection|date|server)$/ {
           v = substr($0, length($1) + 3); printf "      add_header %s \"%s\" always;\n", $1, v }')
  NGINX_PORT=$(free_port)
  cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; multi_accept on; }
http {
  access_log off;
  server_tokens off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport backlog=4096;
    root $dir/www;
    # The static handler refuses POST (405): answer it with the file instead, with the mock's status.
    location = /v1/messages { error_page 405 =$status /body.json; return 405; }
    location = /body.json {
      internal;
      default_type application/json;
      etag off;
      max_ranges 0;
$adds
    }
  }
}
EOF
  NGINX_CMD="taskset -c $core $(nginx_bin) -c $dir/nginx.conf"
  $NGINX_CMD >"$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/v1/messages" -X POST -d x && return 0
    sleep 0.1
  done
  say "mock-bench: nginx did not start:"; cat "$dir/error.log" "$dir/stdout.log" >&2; return 1
}

nginx_stop() {
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  NGINX_PID=""
}
