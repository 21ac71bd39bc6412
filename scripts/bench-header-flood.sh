#!/usr/bin/env bash
# Memory after a flood of large request heads: does the broker give it back?
#
#   bash scripts/bench-header-flood.sh [--rounds 200] [--connections 64]
#
# Starts `imds-spoof serve` (release build) on a free loopback port with the benchmarks'
# configuration (scripts/bench-common.sh), reads its resident memory (VmRSS), then opens CONNECTIONS connections that
# each send ROUNDS keep-alive requests carrying one 15 KB header and read every answer.
# Prints RSS at the baseline, right after the flood, 10 s later with the connections still
# open, and after they closed. 64 x 200 requests fill the request ring (10,000 records), so
# the figure after the flood is the ring's steady state.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds=200
connections=64
BIN="$REPO/target/release/imds-spoof"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?}"; shift ;;
    --connections) connections="${2:?}"; shift ;;
    --bin) BIN="${2:?}"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }

die() { printf 'bench-header-flood: %s\n' "$*" >&2; exit 1; }
. "$REPO/scripts/bench-common.sh"
bench_workdir imds-spoof-header-flood
bench_config "$WORK/config.toml"
IMDS_SPOOF_LOG=warn bench_start serve "$BIN" --config "$WORK/config.toml" serve --listen 127.0.0.1:0
pid=$SERVER_PID
port="${ADDR##*:}"
rss() { awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status"; }

echo "baseline:                                $(rss)"
python3 - "$port" "$rounds" "$connections" 14 <<'PY' &
import socket, sys, threading, time
port, rounds, connections, hold = (int(a) for a in sys.argv[1:5])
pad = "x" * 15000
request = ("GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
           "X-Pad: %s\r\n\r\n" % (port, pad)).encode()
opened = []
def client():
    s = socket.create_connection(("127.0.0.1", port))
    for _ in range(rounds):
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n")
                       if l.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += s.recv(65536)
    opened.append(s)
threads = [threading.Thread(target=client) for _ in range(connections)]
for t in threads: t.start()
for t in threads: t.join()
print("flood: %d connections x %d requests sent and answered" % (connections, rounds), flush=True)
time.sleep(hold)
PY
flood=$!
sleep 3
echo "right after the flood:                   $(rss)"
sleep 10
echo "10 s later, connections still open:      $(rss)"
wait "$flood"
sleep 1
echo "after the connections closed:            $(rss)"
