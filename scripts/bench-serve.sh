#!/usr/bin/env bash
# Load benchmark of `imds-spoof serve` against the ceiling of a bare axum server.
#
#   bash scripts/bench-serve.sh [--duration SECONDS] [--threads N] [--connections N]
#                               [--no-pin] [--no-build]
#
# Measures with wrk (Debian package `wrk`), same parameters for every row:
#   hello        examples/bench_hello.rs: plain axum::serve, GET / -> "hello"
#   leaf v1      GET /latest/meta-data/instance-id
#   leaf v2      the same with an X-aws-ec2-metadata-token obtained first (PUT /latest/api/token)
#   creds (cmd)  GET /latest/meta-data/iam/security-credentials/ROLE, the role's source is
#                "command" (a sh script printing credential_process JSON expiring in 1 h),
#                so after the first request every answer comes from the credentials cache
# Each imds-spoof row runs twice: with the default log filter (one log line per request on
# stderr, what `serve` does out of the box) and quiet (IMDS_SPOOF_LOG=warn).
# Targets (the issue): leaf v1 >= 70 % of hello; creds >= 90 % of leaf v1 (both default logging).
#
# Pinning (default when there are 2+ cores): servers on cpu0, wrk on cpu1, so the load
# generator never steals the server's core; the servers then see one core and tokio
# starts one worker, the same for both. --no-pin lets the kernel schedule everything.
# Server stderr goes to a file (truncated after each run): a real write per log line,
# cheaper than a terminal. "srv cpu" is the server's CPU use during the run (100 % = one
# core); "req/cpu-s" is requests per second of server CPU, which does not depend on
# whether wrk or the server was the bottleneck.
# Exit status: 0 when every run succeeded (whatever PASS/FAIL says), 1 on a broken run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION=10
THREADS=2
CONNECTIONS=32
PIN=1
BUILD=1
LEAF_TARGET=70
CREDS_TARGET=90

usage() { sed -n '3,4p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="${2:?}"; shift 2 ;;
    --threads) THREADS="${2:?}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?}"; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage ;;
    *) echo "bench-serve: unknown argument $1" >&2; usage ;;
  esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -gt 0 ]] || { echo "bench-serve: --duration wants whole seconds" >&2; exit 2; }

log() { printf 'bench-serve: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
command -v curl >/dev/null || die "curl is missing"
CORES="$(nproc)"
if [ "$PIN" = 1 ] && { [ "$CORES" -lt 2 ] || ! command -v taskset >/dev/null; }; then
  log "fewer than 2 cores or no taskset: not pinning"
  PIN=0
fi
if [ "$PIN" = 1 ]; then
  SERVER_CPU=(taskset -c 0)
  LOAD_CPU=(taskset -c 1)
else
  SERVER_CPU=()
  LOAD_CPU=()
fi

BIN_DIR="${CARGO_TARGET_DIR:-$REPO/target}/release"
if [ "$BUILD" = 1 ]; then
  log "building release binaries"
  (cd "$REPO" && cargo build --release --quiet --bin imds-spoof --example bench_hello) >&2
fi
IMDS="$BIN_DIR/imds-spoof"
HELLO="$BIN_DIR/examples/bench_hello"
[ -x "$IMDS" ] && [ -x "$HELLO" ] || die "missing $IMDS or $HELLO (build them or drop --no-build)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/imds-spoof-bench.XXXXXX")"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ROLE="bench-role"
# The credentials command counts its runs, so we can check the cache served the rest.
cat >"$WORK/creds.sh" <<EOF
#!/bin/sh
echo run >>"$WORK/creds-runs"
exp=\$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version":1,"AccessKeyId":"ASIABENCHEXAMPLE0001","SecretAccessKey":"benchSecretKeyEXAMPLEbenchSecretKeyEXAMP","SessionToken":"benchTokenEXAMPLE","Expiration":"%s"}\n' "\$exp"
EOF
cat >"$WORK/config.toml" <<EOF
active_identity = "bench"

[[identity]]
name = "bench"
instance_id = "i-0b1e2c3d4e5f6a7b8"
instance_type = "m5.large"
ami_id = "ami-0b1e2c3d4e5f6a7b8"
account_id = "123456789012"
region = "us-east-1"
availability_zone = "us-east-1a"
local_ipv4 = "172.31.0.10"
mac = "0e:49:61:0f:c3:11"

[identity.role]
name = "$ROLE"
source = "command"
command = "sh $WORK/creds.sh"
EOF

# start_server NAME CMD...: runs CMD (stdout to a file, stderr appended to $WORK/NAME.log),
# waits for its "serving on http://ADDR" line and sets SERVER_PID and ADDR.
start_server() {
  local name="$1"; shift
  : >"$WORK/$name.out"
  "$@" >"$WORK/$name.out" 2>>"$WORK/$name.log" &
  SERVER_PID=$!
  local i
  for i in $(seq 1 200); do
    ADDR="$(sed -n 's|.*serving on http://\([^ ]*\).*|\1|p' "$WORK/$name.out" | head -n1)"
    [ -n "$ADDR" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "$name exited at start"; }
    sleep 0.05
  done
  die "$name did not report its address"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK="$(getconf CLK_TCK)"

# run_wrk LABEL URL [HEADER]: a short warm-up, then the measured run; appends a row.
ROWS=()
declare -A RPS P99 CPU REQS
run_wrk() {
  local label="$1" url="$2" header="${3:-}"
  local args=(-t"$THREADS" -c"$CONNECTIONS" --latency)
  [ -n "$header" ] && args+=(-H "$header")
  "${LOAD_CPU[@]}" wrk "${args[@]}" -d2s "$url" >/dev/null
  local before after out
  before="$(cpu_ticks "$SERVER_PID")"
  out="$("${LOAD_CPU[@]}" wrk "${args[@]}" -d"${DURATION}s" "$url")"
  after="$(cpu_ticks "$SERVER_PID")"
  echo "$out" >"$WORK/wrk-$label.txt"
  if grep -q 'Non-2xx or 3xx' <<<"$out"; then
    echo "$out" >&2
    die "$label: the server answered errors under load"
  fi
  local rps p99 total
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  total="$(awk '/requests in/ {print $1}' <<<"$out")"
  # wrk prints the percentile with its own unit (us, ms, s); normalise to ms.
  p99="$(awk '$1 == "99%" {v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
          f = (u == "us") ? 0.001 : (u == "s") ? 1000 : 1; printf "%.2f", v * f}' <<<"$out")"
  [ -n "$rps" ] && [ -n "$p99" ] || { echo "$out" >&2; die "$label: cannot read wrk's output"; }
  RPS[$label]="$rps"
  P99[$label]="$p99"
  CPU[$label]="$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v d="$DURATION" \
    'BEGIN {printf "%.0f", 100 * t / hz / d}')"
  REQS[$label]="$total"
  ROWS+=("$label")
  log "$label: $rps req/s, p99 ${p99} ms, server cpu ${CPU[$label]} %"
}

log "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency; pinned: $([ "$PIN" = 1 ] && echo 'server cpu0, wrk cpu1' || echo no)"

start_server hello "${SERVER_CPU[@]}" "$HELLO" 0
[ "$(curl -sf "http://$ADDR/")" = "hello" ] || die "bench_hello does not answer hello"
run_wrk "hello" "http://$ADDR/"
stop_server

LEAF="/latest/meta-data/instance-id"
CREDS="/latest/meta-data/iam/security-credentials/$ROLE"
for mode in default quiet; do
  if [ "$mode" = default ]; then
    start_server "serve-$mode" env -u IMDS_SPOOF_LOG -u RUST_LOG "${SERVER_CPU[@]}" \
      "$IMDS" serve --listen 127.0.0.1:0 --config "$WORK/config.toml"
    suffix=""
  else
    start_server "serve-$mode" env -u RUST_LOG IMDS_SPOOF_LOG=warn "${SERVER_CPU[@]}" \
      "$IMDS" serve --listen 127.0.0.1:0 --config "$WORK/config.toml"
    suffix=" quiet"
  fi
  base="http://$ADDR"
  [ "$(curl -sf "$base$LEAF")" = "i-0b1e2c3d4e5f6a7b8" ] || die "serve: wrong instance-id"
  token="$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$base/latest/api/token")"
  [ -n "$token" ] || die "serve: no session token"
  curl -sf -H "X-aws-ec2-metadata-token: $token" "$base$LEAF" >/dev/null || die "serve: token refused"
  curl -sf "$base$CREDS" | grep -q '"AccessKeyId" : "ASIABENCHEXAMPLE0001"' \
    || die "serve: the credentials command's keys are not served"
  : >"$WORK/serve-$mode.log"

  run_wrk "leaf v1$suffix" "$base$LEAF"
  lines_v1="$(wc -l <"$WORK/serve-$mode.log")"
  : >"$WORK/serve-$mode.log"
  run_wrk "leaf v2$suffix" "$base$LEAF" "X-aws-ec2-metadata-token: $token"
  : >"$WORK/serve-$mode.log"
  run_wrk "creds cmd$suffix" "$base$CREDS"
  : >"$WORK/serve-$mode.log"
  stop_server

  # Logging must be what the mode says, or the comparison means nothing.
  if [ "$mode" = default ]; then
    [ "$lines_v1" -ge "${REQS["leaf v1"]}" ] \
      || die "default mode logged $lines_v1 lines for ${REQS["leaf v1"]} requests"
  else
    [ "$lines_v1" -eq 0 ] || die "quiet mode still logged $lines_v1 lines"
  fi
done
runs="$(wc -l <"$WORK/creds-runs")"
[ "$runs" -eq 2 ] || die "the credentials command ran $runs times for 2 servers: not served from cache"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", 100 * a / b}'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r >= t) ? "PASS" : "FAIL"}'; }

echo
echo "imds-spoof serve load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $CORES cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(uname -r)"
echo "load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (after a 2 s warm-up);" \
  "pinned: $([ "$PIN" = 1 ] && echo 'server cpu0, wrk cpu1' || echo no)"
echo
printf '%-18s %12s %10s %9s %11s\n' "path" "req/s" "p99 ms" "srv cpu" "req/cpu-s"
for label in "${ROWS[@]}"; do
  per_cpu="$(awk -v r="${RPS[$label]}" -v c="${CPU[$label]}" 'BEGIN {printf "%.0f", (c > 0) ? r * 100 / c : 0}')"
  printf '%-18s %12s %10s %8s%% %11s\n' "$label" "${RPS[$label]}" "${P99[$label]}" "${CPU[$label]}" "$per_cpu"
done
echo
for suffix in "" " quiet"; do
  v1="$(ratio "${RPS["leaf v1$suffix"]}" "${RPS[hello]}")"
  v2="$(ratio "${RPS["leaf v2$suffix"]}" "${RPS[hello]}")"
  cr="$(ratio "${RPS["creds cmd$suffix"]}" "${RPS["leaf v1$suffix"]}")"
  name="${suffix:- default}"; name="${name# }"
  printf '%-8s leaf v1 / hello   %6s %%  (target >= %d %%)  %s\n' "$name" "$v1" "$LEAF_TARGET" "$(verdict "$v1" "$LEAF_TARGET")"
  printf '%-8s leaf v2 / hello   %6s %%  (target >= %d %%)  %s\n' "$name" "$v2" "$LEAF_TARGET" "$(verdict "$v2" "$LEAF_TARGET")"
  printf '%-8s creds / leaf v1   %6s %%  (target >= %d %%)  %s\n' "$name" "$cr" "$CREDS_TARGET" "$(verdict "$cr" "$CREDS_TARGET")"
done
echo "(the issue's targets are the 'default' lines: what a user gets out of the box)"
