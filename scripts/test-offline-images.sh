#!/usr/bin/env bash
# End-to-end check of docker/nginx.conf in imds-spoof/nginx-offline, with no registry:
# builds the images (scripts/offline-images.sh), creates a throwaway bridge network labelled
# imds-spoof.test=1, runs a header-echo server on the host at the network's gateway (in place
# of the broker), starts the proxy with the rendered config, and sends requests from a
# client-offline container. Removes everything it created, also on failure.
#
# Usage: scripts/test-offline-images.sh [--force]   (--force rebuilds the images)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
NGINX_IMAGE=imds-spoof/nginx-offline:latest
CLIENT_IMAGE=imds-spoof/client-offline:latest
LABEL=imds-spoof.test=1

say() { printf '==> %s\n' "$*" >&2; }
failures=0
pass() { printf '  ok    %s\n' "$*" >&2; }
fail() { printf '  FAIL  %s\n' "$*" >&2; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what="$1"
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

"$here/offline-images.sh" "$@"

run=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
net="imds-spoof-test-$run"
proxy="imds-spoof-test-proxy-$run"
client="imds-spoof-test-client-$run"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/imds-spoof-test.XXXXXX")
echo_pid=""
net_created=0

cleanup() {
  local rc=$?
  [ -z "$echo_pid" ] || kill "$echo_pid" 2>/dev/null || true
  docker rm -f "$proxy" "$client" >/dev/null 2>&1 || true
  [ "$net_created" = 0 ] || docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free private /24: the engine refuses one that overlaps another network or a host route.
for n in $(seq 231 250); do
  subnet="10.$n.0.0/24"
  if docker network create --driver bridge --subnet "$subnet" --gateway "10.$n.0.1" \
    --label "$LABEL" "$net" >/dev/null 2>&1; then
    net_created=1
    break
  fi
done
[ "$net_created" = 1 ] || { echo "no free subnet in 10.231-250.0.0/24" >&2; exit 1; }
gw="10.$n.0.1" proxy_ip="10.$n.0.10" client_ip="10.$n.0.20"
say "network $net: $subnet, gateway (echo broker) $gw, proxy $proxy_ip, client $client_ip"

# The stand-in broker: answers every GET/PUT/HEAD with the request line, the peer address and
# the headers exactly as received (duplicates kept), and Server: EC2ws.
cat >"$tmp/echo.py" <<'EOF'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def version_string(self):
        return "EC2ws"
    def echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        lines = [self.requestline, "X-Echo-Peer: %s:%d" % self.client_address]
        lines += ["%s: %s" % kv for kv in self.headers.items()]
        lines.append("X-Echo-Body: %r" % body.decode("latin-1"))
        out = ("\n".join(lines) + "\n").encode("latin-1")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)
    do_GET = do_PUT = do_HEAD = echo
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Echo)
print(server.server_address[1], flush=True)
server.serve_forever()
EOF

start_echo() { # start_echo PORT (0 = any); sets echo_pid and echo_port
  python3 "$tmp/echo.py" "$gw" "$1" >"$tmp/echo.port" &
  echo_pid=$!
  for _ in $(seq 50); do
    [ -s "$tmp/echo.port" ] && break
    sleep 0.1
  done
  echo_port=$(cat "$tmp/echo.port")
  [ -n "$echo_port" ] || { echo "echo server did not start" >&2; exit 1; }
}
start_echo 0
say "echo broker on $gw:$echo_port (pid $echo_pid)"

secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
sed -e "s/{{BROKER_SERVER}}/$gw:$echo_port/g" \
  -e "s/{{PROXY_SECRET}}/$secret/g" -e "s/{{LISTEN_IPV6}}/# IPv6 off/g" \
  "$repo/docker/nginx.conf" >"$tmp/nginx.conf"
! grep -q '{{' "$tmp/nginx.conf" || { echo "placeholders left in the rendered nginx.conf" >&2; exit 1; }

docker create --name "$proxy" --label "$LABEL" --network "$net" --ip "$proxy_ip" \
  "$NGINX_IMAGE" >/dev/null
docker cp "$tmp/nginx.conf" "$proxy:/etc/nginx/nginx.conf"
docker start "$proxy" >/dev/null

mapfile -t mounts < <("$here/offline-images.sh" --print-client-mounts)
docker run -d --name "$client" --label "$LABEL" --network "$net" --ip "$client_ip" \
  "${mounts[@]}" "$CLIENT_IMAGE" sleep infinity >/dev/null

# req CURL_ARGS...: runs curl in the client; stdout is the response head and body, CR removed.
req() { docker exec "$client" curl -sS -i --max-time 10 "$@" | tr -d '\r'; }
head_of() { sed '/^$/q' <<<"$1"; }
body_of() { sed '1,/^$/d' <<<"$1"; }
count() { grep -ci -- "$1" <<<"$2" || true; } # count REGEX TEXT: matching lines

for _ in $(seq 50); do
  docker exec "$client" curl -s -o /dev/null --max-time 2 "http://$proxy_ip/" && break
  sleep 0.1
done
say "proxy $proxy answers; nginx log so far:"
docker logs "$proxy" 2>&1 | sed 's/^/    /' >&2

say "GET with forged caller/secret headers"
r=$(req "http://$proxy_ip/latest/meta-data/" \
  -H 'X-Imds-Spoof-Caller: 6.6.6.6' -H 'x-imds-spoof-caller: 7.7.7.7' \
  -H 'X_Imds_Spoof_Caller: 8.8.8.8' -H 'X-Imds-Spoof-Secret: forged')
h=$(head_of "$r") b=$(body_of "$r")
printf '%s\n' "$b" | sed 's/^/    | /' >&2
check "status 200" grep -q '^HTTP/1.1 200' <<<"$h"
check "request line as sent" grep -qx 'GET /latest/meta-data/ HTTP/1.1' <<<"$b"
check "broker sees the proxy as peer" grep -q "^X-Echo-Peer: $proxy_ip:" <<<"$b"
check "one X-Imds-Spoof-Caller" [ "$(count '^x-imds-spoof-caller:' "$b")" = 1 ]
check "X-Imds-Spoof-Caller is the client's IP" grep -qix "X-Imds-Spoof-Caller: $client_ip" <<<"$b"
check "one X-Imds-Spoof-Secret, the run's secret" \
  [ "$(count '^x-imds-spoof-secret:' "$b")" = 1 -a "$(count "^x-imds-spoof-secret: $secret\$" "$b")" = 1 ]
check "forged values gone (incl. underscore variant)" \
  [ "$(count '6\.6\.6\.6\|7\.7\.7\.7\|8\.8\.8\.8\|forged\|x_imds' "$b")" = 0 ]
check "no X-Forwarded-For or X-Real-IP added" [ "$(count '^x-forwarded-for:\|^x-real-ip:' "$b")" = 0 ]
check "Host as the client sent it" grep -qx "Host: $proxy_ip" <<<"$b"
check "no Connection header upstream (keepalive)" [ "$(count '^connection:' "$b")" = 0 ]
check "client's User-Agent and Accept passed" [ "$(count '^user-agent: curl/\|^accept: \*/\*$' "$b")" = 2 ]
check "one Server header, EC2ws" [ "$(count '^server:' "$h")" = 1 -a "$(count '^server: EC2ws$' "$h")" = 1 ]
check "one Date header" [ "$(count '^date:' "$h")" = 1 ]
peer1=$(sed -n 's/^X-Echo-Peer: //p' <<<"$b")

say "PUT token request with X-Forwarded-For and Host 169.254.169.254"
r=$(req -X PUT "http://$proxy_ip/latest/api/token" -H 'Host: 169.254.169.254' \
  -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' -H 'X-Forwarded-For: 203.0.113.7, 10.9.9.9' \
  -H 'X-Imds-Spoof-Caller: 6.6.6.6' --data-raw 'hello')
h=$(head_of "$r") b=$(body_of "$r")
printf '%s\n' "$b" | sed 's/^/    | /' >&2
check "status 200" grep -q '^HTTP/1.1 200' <<<"$h"
check "method and path as sent" grep -qx 'PUT /latest/api/token HTTP/1.1' <<<"$b"
check "X-Forwarded-For passed once, unchanged" \
  [ "$(count '^x-forwarded-for:' "$b")" = 1 -a "$(count '^x-forwarded-for: 203\.0\.113\.7, 10\.9\.9\.9$' "$b")" = 1 ]
check "no X-Real-IP added" [ "$(count '^x-real-ip:' "$b")" = 0 ]
check "TTL header passed" grep -qix 'X-aws-ec2-metadata-token-ttl-seconds: 21600' <<<"$b"
check "Host 169.254.169.254 passed" grep -qx 'Host: 169.254.169.254' <<<"$b"
check "X-Imds-Spoof-Caller is the client's IP, once" \
  [ "$(count '^x-imds-spoof-caller:' "$b")" = 1 -a "$(count "^x-imds-spoof-caller: $client_ip\$" "$b")" = 1 ]
check "secret present once" [ "$(count "^x-imds-spoof-secret: $secret\$" "$b")" = 1 ]
check "body passed" grep -qx "X-Echo-Body: 'hello'" <<<"$b"
check "Server: EC2ws" [ "$(count '^server: EC2ws$' "$h")" = 1 ]
peer2=$(sed -n 's/^X-Echo-Peer: //p' <<<"$b")
check "upstream connection reused (keepalive): $peer1 then $peer2" [ "$peer1" = "$peer2" ]

say "malformed forgeries (raw requests): refused (400) or stripped, never passed"
py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
raw() { # raw HEADER_LINES: sends GET / with those lines to the proxy, prints the answer
  docker exec "$client" "$py" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=10)
s.sendall(b"GET /raw HTTP/1.1\r\nHost: x\r\n" + sys.argv[2].encode() + b"\r\nConnection: close\r\n\r\n")
out = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode("latin-1").replace("\r", ""))
' "$proxy_ip" "$1"
}
for lines in 'X-Imds-Spoof-Caller:6.6.6.6' 'X-Imds-Spoof-Caller : 6.6.6.6' \
  $'X-Imds-Spoof-Caller\t: 6.6.6.6' $'X-Other: a\r\n X-Imds-Spoof-Caller: 6.6.6.6' \
  $'X-Imds-Spoof-Caller: 6.6.6.6\r\nX-Imds-Spoof-Caller: 6.6.6.6' 'X-IMDS-SPOOF-CALLER: 6.6.6.6'; do
  r=$(raw "$lines")
  shown=$(printf '%q' "$lines")
  if grep -q '^HTTP/1.1 400' <<<"$r"; then
    check "$shown: 400 from nginx" true
  else
    check "$shown: caller is the client's, once" \
      [ "$(count '^x-imds-spoof-caller:' "$r")" = 1 -a "$(count "^x-imds-spoof-caller: $client_ip\$" "$r")" = 1 ]
  fi
  check "$shown: 6.6.6.6 never reaches the broker" [ "$(count '6\.6\.6\.6' "$r")" = 0 ]
done

say "HEAD, raw path, over-long path"
r=$(docker exec "$client" curl -sS -I --max-time 10 "http://$proxy_ip/latest//meta-data/../meta-data/%41" | tr -d '\r')
check "HEAD answered by the broker with EC2ws" grep -qix 'server: EC2ws' <<<"$r"
r=$(req --path-as-is "http://$proxy_ip/latest//meta-data/./x%41")
check "path reaches the broker exactly as sent" grep -qx 'GET /latest//meta-data/./x%41 HTTP/1.1' <<<"$(body_of "$r")"
long=$(printf 'a%.0s' $(seq 9000))
r=$(req "http://$proxy_ip/$long")
check "9000-byte path refused with 414" grep -q '^HTTP/1.1 414' <<<"$r"
r=$(req "http://$proxy_ip/latest/meta-data/")
check "proxy still serves after that" grep -q '^HTTP/1.1 200' <<<"$r"

say "health endpoint"
r=$(docker run --rm --network "container:$proxy" "${mounts[@]}" "$CLIENT_IMAGE" \
  curl -sS --max-time 5 http://127.0.0.1:8099/healthz)
check "127.0.0.1:8099/healthz inside the proxy says ok" [ "$r" = ok ]
rc=0
docker exec "$client" curl -sS -o /dev/null --max-time 5 "http://$proxy_ip:8099/healthz" 2>/dev/null || rc=$?
check "port 8099 not reachable from the network (curl exit $rc)" [ "$rc" = 7 ]
r=$(req "http://$proxy_ip/healthz")
check "/healthz on port 80 goes to the broker" grep -qx 'GET /healthz HTTP/1.1' <<<"$(body_of "$r")"

say "broker down, then back"
kill "$echo_pid"
wait "$echo_pid" 2>/dev/null || true
echo_pid=""
r=$(req "http://$proxy_ip/latest/meta-data/")
check "broker down: 502" grep -q '^HTTP/1.1 502' <<<"$r"
start_echo "$echo_port"
r=$(req "http://$proxy_ip/latest/meta-data/")
check "broker back: 200 on the first request" grep -q '^HTTP/1.1 200' <<<"$r"
r=$(req -X PUT "http://$proxy_ip/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
check "broker back: PUT 200" grep -q '^HTTP/1.1 200' <<<"$r"

if docker logs "$proxy" 2>&1 | grep -q '\[emerg\]\|\[alert\]\|\[crit\]'; then
  fail "nginx logged emerg/alert/crit:"
  docker logs "$proxy" 2>&1 | sed 's/^/    /' >&2
fi

if [ "$failures" -gt 0 ]; then
  say "$failures check(s) failed"
  exit 1
fi
say "all checks passed"
