#!/usr/bin/env bash
# Captures real NGINX access-log lines and stub_status pages for the gateway parsers' tests and fuzz seeds:
# starts Debian's nginx (and a small Python backend) on 127.0.0.1 under a temporary prefix, sends a known
# mix of requests with curl (ids, UUIDs, hashes, quotes, UTF-8, a very long URL, 404, HEAD, retried and
# internally redirected upstreams, a TLS handshake and an empty connection), and copies the logs of four
# log formats to DEST. CRI-wrapped copies are then made per the kubelet's CRI logging format (no kubelet
# on the capture host; see tests/fixtures/PROVENANCE.md).
# Usage: scripts/capture-gateway-fixtures.sh DEST   (then record the capture in tests/fixtures/PROVENANCE.md)
set -euo pipefail
dest=$(mkdir -p "${1:?usage: $0 DEST}" && cd "$1" && pwd)
port=${GATEWAY_CAPTURE_PORT:-38080}  # nginx; the backend listens on port+1, port+2 stays closed
backend_port=$((port + 1))
closed_port=$((port + 2))
srv=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$srv"
}
trap cleanup EXIT

mkdir -p "$srv/logs" "$srv/tmp" "$srv/html/static"
printf 'console.log("app");\n' > "$srv/html/static/app.3f2a9c.js"

cat > "$srv/backend.py" <<'EOF'
# Backend for the capture: echoes the path as JSON; /api/slow?ms=N sleeps N ms, /api/status/NNN answers
# NNN, paths containing "missing" answer 404.
import json, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _answer(self, with_body):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        status = 200
        if url.path.startswith("/api/slow"):
            time.sleep(int(query.get("ms", ["0"])[0]) / 1000.0)
        elif url.path.startswith("/api/status/"):
            status = int(url.path.rsplit("/", 1)[1])
        elif "missing" in url.path:
            status = 404
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"path": self.path, "method": self.command}).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)
    def do_GET(self): self._answer(True)
    def do_POST(self): self._answer(True)
    def do_PUT(self): self._answer(True)
    def do_DELETE(self): self._answer(True)
    def do_HEAD(self): self._answer(False)
    def log_message(self, *args): pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF

cat > "$srv/nginx.conf" <<EOF
worker_processes 1;
pid $srv/nginx.pid;
error_log $srv/logs/error.log info;
events { worker_connections 64; }
http {
  client_body_temp_path $srv/tmp/body;
  proxy_temp_path $srv/tmp/proxy;
  fastcgi_temp_path $srv/tmp/fastcgi;
  uwsgi_temp_path $srv/tmp/uwsgi;
  scgi_temp_path $srv/tmp/scgi;
  default_type application/octet-stream;
  # Room for a logged request line over containerd's 16 KiB CRI line limit.
  large_client_header_buffers 4 32k;

  # (a) combined with \$request_time and \$upstream_response_time appended.
  log_format combined_times '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent '
                            '"\$http_referer" "\$http_user_agent" \$request_time \$upstream_response_time';
  # (a') ingress-nginx's default log-format-upstream (internal/ingress/controller/config/config.go), with
  # \$proxy_upstream_name / \$proxy_alternative_upstream_name set per location as its template does and
  # \$req_id mapped as in its nginx.tmpl.
  map \$http_x_request_id \$req_id { default \$http_x_request_id; "" \$request_id; }
  log_format upstreaminfo '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent '
                          '"\$http_referer" "\$http_user_agent" \$request_length \$request_time '
                          '[\$proxy_upstream_name] [\$proxy_alternative_upstream_name] \$upstream_addr '
                          '\$upstream_response_length \$upstream_response_time \$upstream_status \$req_id';
  # (b) JSON with escape=json, keys named after the nginx variables.
  log_format json_vars escape=json '{"time_iso8601":"\$time_iso8601","remote_addr":"\$remote_addr",'
                                   '"host":"\$host","request":"\$request","request_method":"\$request_method",'
                                   '"request_uri":"\$request_uri","status":\$status,'
                                   '"body_bytes_sent":\$body_bytes_sent,"request_time":\$request_time,'
                                   '"upstream_addr":"\$upstream_addr",'
                                   '"upstream_response_time":"\$upstream_response_time",'
                                   '"http_referer":"\$http_referer","http_user_agent":"\$http_user_agent"}';
  # (b') JSON after ingress-nginx's documented example (docs/user-guide/nginx-configuration/log-format.md:
  # other key names, unquoted numbers) with nginx's default escaping (\xHH), as many real configs have it.
  log_format json_default_escape '{"time": "\$time_iso8601", "remote_addr": "\$remote_addr", '
                                 '"request_id": "\$req_id", "bytes_sent": \$bytes_sent, '
                                 '"request_time": \$request_time, "status": \$status, "vhost": "\$host", '
                                 '"request_proto": "\$server_protocol", "path": "\$uri", '
                                 '"request_query": "\$args", "request_length": \$request_length, '
                                 '"duration": \$request_time, "method": "\$request_method", '
                                 '"upstream_response_time": "\$upstream_response_time", '
                                 '"http_referrer": "\$http_referer", "http_user_agent": "\$http_user_agent"}';
  access_log $srv/logs/combined_times.log combined_times;
  access_log $srv/logs/upstreaminfo.log upstreaminfo;
  access_log $srv/logs/json_vars.log json_vars;
  access_log $srv/logs/json_default_escape.log json_default_escape;

  upstream backend { server 127.0.0.1:$backend_port; }
  # A dead first server: requests that land on it are retried on the second (a comma-separated list).
  upstream flaky {
    server 127.0.0.1:$closed_port max_fails=0;
    server 127.0.0.1:$backend_port;
  }
  server {
    listen 127.0.0.1:$port;
    server_name shop.example.com;
    root $srv/html;
    set \$proxy_upstream_name "-";
    set \$proxy_alternative_upstream_name "";
    location = /stub_status { stub_status; }
    location = /healthz { return 200 "ok\n"; }
    location /api/ {
      set \$proxy_upstream_name "default-api-80";
      proxy_pass http://backend;
    }
    location /retry/ {
      set \$proxy_upstream_name "default-flaky-80";
      proxy_next_upstream error;
      proxy_pass http://flaky;
    }
    # A 404 from the backend is redirected internally to a second upstream (a colon-separated list).
    location /fallback/ {
      set \$proxy_upstream_name "default-fallback-80";
      proxy_intercept_errors on;
      error_page 404 = @fallback;
      proxy_pass http://backend;
    }
    location @fallback { proxy_pass http://backend; }
    location /down/ { proxy_pass http://127.0.0.1:$closed_port; }
  }
}
EOF

run_as=()
if [ "$(id -u)" -eq 0 ]; then  # run unprivileged: nginx and the backend as nobody
  chown -R nobody "$srv"
  run_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
"${run_as[@]}" /usr/bin/python3 "$srv/backend.py" "$backend_port" &
pids+=($!)
"${run_as[@]}" nginx -p "$srv/" -c "$srv/nginx.conf" -e "$srv/logs/error.log" -g 'daemon off;' &
pids+=($!)
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -sf "$base/healthz" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$backend_port/api/" >/dev/null 2>&1 && break
  sleep 0.05
done

c() { curl -sS -o /dev/null --globoff -A 'curl/capture' "$@" || true; }
save() { curl -sS --globoff -A 'curl/capture' -o "$1" "$2" || true; }  # save FILE URL
save "$dest/stub_status_idle.txt" "$base/stub_status"
c "$base/healthz"
c "$base/api/users/12345"
c "$base/api/users/12345/orders/987?page=2&sort=desc"
c "$base/api/items/3f2504e0-4f89-11d3-9a0c-0305e82c3301"
c "$base/api/items/3F2504E0-4F89-11D3-9A0C-0305E82C3301/reviews"
c "$base/api/blobs/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
c "$base/api/commits/1a2b3c4d5e6f7a8b"
c "$base/api/slow?ms=150"
c "$base/api/slow?ms=420"
c -X POST -H 'Content-Type: application/json' -d '{"sku":"A-1","qty":2}' "$base/api/orders"
c -X PUT -d 'x=1' "$base/api/orders/77"
c -X DELETE "$base/api/orders/77"
c -I "$base/api/users/42"
c "$base/does/not/exist"
c "$base/static/app.3f2a9c.js"
c "$base/static/img/logo.png"
c "$base/api/status/503"
c "$base/api/status/201"
c "$base/retry/ping"
c "$base/retry/ping"
c "$base/retry/ping"
c "$base/fallback/missing/5"
c "$base/down/x"
save "$dest/html_502.html" "$base/down/x"
c "$base/api/search?q=\"quoted\"&lang=en"
c "$base/api/say\"hi\"/now"
c "$base/api/back\\slash"
c "$base/api/café/ünïcode/ß"
c "$base/api/caf%C3%A9/%E2%9C%93?x=%22"
c -A 'Mozilla/5.0 (X11; Linux x86_64) "quoted" ünïcode \back' -e 'https://ref.example.com/p?a=1' "$base/api/users/7"
c -H 'Host: shop.example.com' "$base/api/users/8"
c -H 'Host: other.example.org:8443' "$base/api/users/9"
c -H 'X-Request-ID: 6ba7b810-9dad-11d1-80b4-00c04fd430c8' "$base/api/users/10"
c --request-target "http://shop.example.com/api/users/11?abs=1" "$base/"
c -X OPTIONS --request-target '*' "$base/"
long=$(printf 'a%.0s' $(seq 20000))
c "$base/api/long/$long?x=1"
huge=$(printf 'b%.0s' $(seq 40000))
c "$base/api/long/$huge"
save "$dest/stub_status.txt" "$base/stub_status"
# Raw sockets: a TLS ClientHello on the plain port, a request line with control bytes, raw UTF-8 in the
# path (curl percent-encodes it; once answered, once closed early: a 499), an empty connection (not logged).
/usr/bin/python3 - "$port" <<'EOF'
import socket, sys
port = int(sys.argv[1])
def send(data, half_close=True):  # half_close: EOF right after the request (nginx logs a 499 if proxying)
    s = socket.create_connection(("127.0.0.1", port))
    if data:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    s.close()
send(bytes.fromhex("16030100f7010000f30303") + bytes(range(32)) + b"\x00\x20\x13\x01\x13\x02")
send(b"GET /api/ctl\x01\x7f\xff HTTP/1.1\r\nHost: x\r\n\r\n")
send(b"GET /api/caf\xc3\xa9/\xe2\x9c\x93/7 HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n", half_close=False)
send(b"GET /api/caf\xc3\xa9/\xe2\x9c\x93/7 HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n")
send(b"")
EOF
save "$dest/stub_status_after_raw.txt" "$base/stub_status"
sleep 0.2  # let nginx log the last requests
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true  # nginx flushes and closes its logs

for f in combined_times upstreaminfo json_vars json_default_escape; do
  cp "$srv/logs/$f.log" "$dest/$f.log"
done
grep -a -v -e 'signal' -e 'exiting' -e 'worker process' "$srv/logs/error.log" > "$dest/error.log" || true

# CRI wrapping (kubelet CRI logging format, as containerd writes it): "<RFC3339Nano> <stream> <P|F> <text>",
# lines over containerd's default max_container_log_line_size (16384 bytes) split into P chunks followed by
# an F chunk. stdout carries the access log; stderr lines (the error log) are interleaved after every fifth
# access line, as a container writing both streams produces them.
/usr/bin/python3 - "$dest" <<'EOF'
import sys, time
dest = sys.argv[1]
MAX = 16384
now = time.time_ns()
def stamp():
    global now
    now += 1234567
    seconds, nanos = divmod(now, 10**9)
    frac = ("%09d" % nanos).rstrip("0")  # Go's RFC3339Nano trims trailing zeros (and the dot if nothing is left)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ("." + frac if frac else "") + "Z"
def wrap(out, stream, line):
    while len(line) > MAX:
        out.write(b"%s %s P %s\n" % (stamp().encode(), stream, line[:MAX]))
        line = line[MAX:]
    out.write(b"%s %s F %s\n" % (stamp().encode(), stream, line))
errors = open(dest + "/error.log", "rb").read().splitlines()
for name in ("upstreaminfo", "json_vars"):
    with open("%s/cri_%s.log" % (dest, name), "wb") as out:
        err = iter(errors)
        for i, line in enumerate(open("%s/%s.log" % (dest, name), "rb").read().splitlines()):
            wrap(out, b"stdout", line)
            if i % 5 == 4:
                e = next(err, None)
                if e is not None:
                    wrap(out, b"stderr", e)
EOF
nginx -v 2>&1 | sed 's/^/captured with /'
curl --version | head -1
