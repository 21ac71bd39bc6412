#!/usr/bin/env bash
# Benchmark of the Docker path (not a test; prints figures, judges nothing).
#
#   bash scripts/bench-docker.sh [--engine podman]
#
# With --engine podman the same runs go through rootful Podman's API socket
# (/run/podman/podman.sock; scripts/podman-setup.sh prepares it), where the broker
# confirms each known caller with the engine (docs/podman.md).
#
#   1. Start-up: time from launching `imds-spoof up` (proxy image present) to the first good
#      answer through the proxy (its ready line, printed once its own GET through nginx got
#      the broker's 200), confirmed by curl from this host. RUNS runs; the first may also
#      create the network.
#   2. Throughput: wrk from a client container on the imds-spoof network through the proxy,
#      versus wrk straight to a broker (`imds-spoof serve` on loopback, wrk in a container on
#      the host network): requests/s and latency percentiles.
#
# Needs: docker, the offline images (scripts/offline-images.sh builds them), wrk on the host
# (the client container runs the host's /usr; `apt-get install wrk` when missing), curl.
# Env: IMDS_SPOOF_BIN (default target/release/imds-spoof, built when missing), RUNS (5),
#      DURATION (10s), CONNECTIONS (16), THREADS (2), IMDS_SPOOF_LOG (default keeps the
#      per-request log lines off; IMDS_SPOOF_LOG=info includes them).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${IMDS_SPOOF_BIN:-$REPO/target/release/imds-spoof}"
RUNS="${RUNS:-5}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-2}"
# Request lines (target imds_spoof::requests) off; part states kept.
export IMDS_SPOOF_LOG="${IMDS_SPOOF_LOG:-warn,imds_spoof::session=info}"
ENGINE=docker
if [ "${1:-}" = "--engine" ]; then
  ENGINE="${2:?--engine needs docker or podman}"
fi
case "$ENGINE" in
  docker) IMAGE_PREFIX="" ;;
  podman) IMAGE_PREFIX="localhost/"; export DOCKER_HOST=unix:///run/podman/podman.sock ;;
  *) echo "bench-docker.sh: --engine takes docker or podman, not '$ENGINE'" >&2; exit 2 ;;
esac
PROXY_IMAGE=${IMAGE_PREFIX}imds-spoof/nginx-offline:latest
CLIENT_IMAGE=${IMAGE_PREFIX}imds-spoof/client-offline:latest
PATH_UNDER_TEST=/latest/meta-data/instance-id

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench-docker.sh: %s\n' "$*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }

command -v "$ENGINE" >/dev/null || die "$ENGINE is not installed"
"$ENGINE" info >/dev/null 2>&1 || die "no $ENGINE engine"
command -v curl >/dev/null || die "curl is needed"
if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || die "wrk is missing: sudo apt-get install wrk"
  say "installing wrk"
  apt-get -q install -y wrk >&2 || { apt-get -q update >&2 && apt-get -q install -y wrk >&2; }
fi
if "$ENGINE" container inspect imds-spoof-proxy >/dev/null 2>&1; then
  die "an imds-spoof proxy exists (a run is live?): stop it or run \`imds-spoof down\` first"
fi
for image in "$PROXY_IMAGE" "$CLIENT_IMAGE"; do
  "$ENGINE" image inspect "$image" >/dev/null 2>&1 ||
    bash "$REPO/scripts/offline-images.sh" --engine "$ENGINE" >&2
done
if [ ! -x "$BIN" ]; then
  say "building $BIN"
  (cd "$REPO" && cargo build --release >&2)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/imds-spoof-bench.XXXXXX")
up_pid="" serve_pid=""
cleanup() {
  [ -n "$up_pid" ] && kill "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  "$BIN" --config "$tmp/config.toml" down --force >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
serve_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --config "$tmp/config.toml" provider --path /latest/meta-data/instance-id >/dev/null
sed -i "s|^image = .*|image = \"$PROXY_IMAGE\"|; s|^port = 1338|port = $port|; s|^allow_host = false|allow_host = true|" "$tmp/config.toml"
grep -q "port = $port" "$tmp/config.toml" || die "could not set the broker port in the sample config"

start_up() {
  "$BIN" --config "$tmp/config.toml" up >"$tmp/up.out" 2>"$tmp/up.err" &
  up_pid=$!
}
stop_up() {
  kill "$up_pid" 2>/dev/null || true
  wait "$up_pid" 2>/dev/null || true
  up_pid=""
}

# ---------------------------------------------------------------- 1. start-up
# `up` prints its ready line right after its own probe (a GET through nginx from this host)
# got the broker's 200, so the ready line marks the first good answer; one curl right after
# it confirms from outside. Nothing polls meanwhile: a polling loop competes for the CPU with
# the engine's container start and slows what it measures (on 2 cores, by ~0.4 s).
say "start-up: $RUNS runs of \`imds-spoof up\` until the first good answer through the proxy"
mkfifo "$tmp/ready"
times=()
for run in $(seq 1 "$RUNS"); do
  t0=$(now)
  "$BIN" --config "$tmp/config.toml" up >"$tmp/ready" 2>"$tmp/up.err" &
  up_pid=$!
  if ! read -r line <"$tmp/ready"; then cat "$tmp/up.err" >&2; die "up exited before it was ready"; fi
  t1=$(now)
  code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://169.254.169.254$PATH_UNDER_TEST" || true)
  t2=$(now)
  [ "$code" = 200 ] || die "ready, but curl through the proxy got $code"
  ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
  curl_ms=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
  note=""
  grep -q "(created)" "$tmp/up.err" && note=" (this run created the network)"
  printf '  run %d: ready (first good answer) after %s ms; curl from outside 200 at %s ms%s\n' \
    "$run" "$ms" "$curl_ms" "$note"
  times+=("$ms")
  stop_up
done
printf 'start-up (ms): %s\n' "$(printf '%s\n' "${times[@]}" | sort -n |
  awk '{ a[NR] = $1 } END { printf "min %d, median %d, max %d over %d runs", a[1], a[int((NR + 1) / 2)], a[NR], NR }')"

# ---------------------------------------------------------------- 2. throughput
mapfile -t MOUNTS < <(bash "$REPO/scripts/offline-images.sh" --print-client-mounts)
wrk_in() { # wrk_in NETWORK URL
  "$ENGINE" run --rm --label imds-spoof.test=1 --network "$1" "${MOUNTS[@]}" "$CLIENT_IMAGE" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$2"
}
summary() { # the figures from wrk's output
  awk '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +90%/ { p90 = $2 } /^ +99%/ { p99 = $2 }
       /Non-2xx/ { bad = $NF } END { printf "%s req/s, p50 %s, p90 %s, p99 %s%s\n", rps, p50, p90, p99, (bad ? ", NON-2xx: " bad : "") }'
}

start_up
for _ in $(seq 1 300); do
  [ "$(curl -s -m 0.3 -o /dev/null -w '%{http_code}' "http://169.254.169.254$PATH_UNDER_TEST" || true)" = 200 ] && break
  sleep 0.05
done
say "throughput through the proxy: wrk -t$THREADS -c$CONNECTIONS -d$DURATION from a container on imds-spoof"
wrk_in imds-spoof "http://169.254.169.254:80$PATH_UNDER_TEST" >"$tmp/proxy.wrk"
stop_up

"$BIN" --config "$tmp/config.toml" serve --listen "127.0.0.1:$serve_port" >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
for _ in $(seq 1 100); do grep -q serving "$tmp/serve.out" && break; sleep 0.05; done
say "throughput straight to the broker: same wrk, host network, imds-spoof serve on 127.0.0.1:$serve_port"
wrk_in host "http://127.0.0.1:$serve_port$PATH_UNDER_TEST" >"$tmp/direct.wrk"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=""

printf 'through the proxy (container -> nginx -> broker): %s\n' "$(summary <"$tmp/proxy.wrk")"
printf 'straight to the broker (loopback):                %s\n' "$(summary <"$tmp/direct.wrk")"
printf '(%s, IMDS_SPOOF_LOG=%s, %s cores, wrk -t%s -c%s -d%s, GET %s)\n' \
  "$ENGINE" "$IMDS_SPOOF_LOG" "$(nproc)" "$THREADS" "$CONNECTIONS" "$DURATION" "$PATH_UNDER_TEST"
