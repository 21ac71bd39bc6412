#!/usr/bin/env bash
# User-space instructions per request of `imds-spoof serve` and of the bare axum hello, under
# callgrind: a yardstick that does not drift with the machine's load (bench-serve.sh's wrk
# figures do). All of the process's threads count, the request-line printer's too.
#
#   bash scripts/bench-instructions.sh [--requests N] [--no-build]
#
# Each server runs under `valgrind --tool=callgrind`; per row, curl sends a warm-up and then
# N keep-alive requests on one connection, with the counters zeroed (callgrind_control -z)
# after the warm-up and dumped (-d) after the N; the row's figure is the dump's total / N.
# Both `serve`s first answer 10,000 requests, so that their recorders are full (a measured
# request also drops the oldest record, as in a long run). Rows: hello; leaf v1, leaf v2 (token first) and creds (source "command", served from its
# cache) on `serve` with default logging (a line per request), the same credentials at the
# ECS and EKS doors; leaf v1 on a quiet `serve`.
# Builds the release binaries with line tables (for callgrind_annotate) unless --no-build;
# the dumps are kept in $KEEP (default /tmp/imds-spoof-callgrind) for annotation.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUESTS=3000
WARMUP=300
BUILD=1
KEEP="${KEEP:-/tmp/imds-spoof-callgrind}"
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) REQUESTS="${2:?}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '6p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    *) echo "bench-instructions: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$REQUESTS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-instructions: --requests wants a positive number" >&2; exit 2; }

log() { printf 'bench-instructions: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
for tool in valgrind callgrind_control curl; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y valgrind curl)"
done

BIN_DIR="${CARGO_TARGET_DIR:-$REPO/target}/release"
if [ "$BUILD" = 1 ]; then
  log "building release binaries with line tables"
  (cd "$REPO" && CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    cargo build --release --quiet --bin imds-spoof --example bench_hello) >&2
fi
IMDS="$BIN_DIR/imds-spoof"
HELLO="$BIN_DIR/examples/bench_hello"
[ -x "$IMDS" ] && [ -x "$HELLO" ] || die "missing $IMDS or $HELLO (build them or drop --no-build)"

. "$REPO/scripts/bench-common.sh"
bench_workdir imds-spoof-instructions
mkdir -p "$KEEP"

ROLE="$BENCH_ROLE"
bench_command_role "$WORK/config.toml"

# callgrind NAME: the valgrind command line for server NAME (its dumps are $KEEP/NAME.*).
callgrind() { echo valgrind --tool=callgrind "--callgrind-out-file=$KEEP/$1.%p"; }

# requests COUNT URL [HEADER]: COUNT GETs of URL on one keep-alive connection.
requests() {
  local count="$1" url="$2" header="${3:-}" args=()
  [ -n "$header" ] && args=(-H "$header")
  local urls=()
  local i
  for i in $(seq 1 "$count"); do urls+=("$url"); done
  curl -sf "${args[@]}" "${urls[@]}" >/dev/null || die "requests to $url failed"
}

# row LABEL SERVER_NAME PID URL [HEADER]: instructions per request of COUNT requests.
row() {
  local label="$1" name="$2" pid="$3" url="$4" header="${5:-}"
  requests "$WARMUP" "$url" "$header"
  callgrind_control -z "$pid" >/dev/null
  requests "$REQUESTS" "$url" "$header"
  local before
  before="$(ls "$KEEP" | grep -c "^$name\." || true)"
  callgrind_control -d "$pid" >/dev/null
  local dump
  dump="$(ls -t "$KEEP"/"$name".* | head -n1)"
  [ "$(ls "$KEEP" | grep -c "^$name\.")" -gt "$before" ] || die "no dump for $label"
  local total
  total="$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")"
  mv "$dump" "$KEEP/$(tr ' /' '__' <<<"$label").out"
  printf '%-22s %12d %10d\n' "$label" "$total" "$(( total / REQUESTS ))"
}

rm -f "$KEEP"/*
bench_start hello $(callgrind hello) "$HELLO" 0
HELLO_PID="$SERVER_PID"; HELLO_URL="http://$ADDR"
bench_start serve env -u IMDS_SPOOF_LOG -u RUST_LOG $(callgrind serve) \
  "$IMDS" serve --listen 127.0.0.1:0 --config "$WORK/config.toml" \
  --container-token-file "$WORK/container-token"
SERVE_PID="$SERVER_PID"; SERVE_URL="http://$ADDR"
ECS_AUTH="Authorization: $(cat "$WORK/container-token")"
"$IMDS" --config "$WORK/config.toml" token --identity bench --ttl 1h --out "$WORK/pod-token" >/dev/null \
  || die "imds-spoof token failed"
EKS_AUTH="Authorization: $(cat "$WORK/pod-token")"
bench_start quiet env -u RUST_LOG IMDS_SPOOF_LOG=warn $(callgrind quiet) \
  "$IMDS" serve --listen 127.0.0.1:0 --config "$WORK/config.toml"
QUIET_PID="$SERVER_PID"; QUIET_URL="http://$ADDR"

# The recorder keeps record_capacity (10,000 by default) exchanges: fill it, so every
# measured request also drops the oldest record, as it does in a long run.
requests 10000 "$SERVE_URL/latest/meta-data/instance-id"
requests 10000 "$QUIET_URL/latest/meta-data/instance-id"
TOKEN="$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$SERVE_URL/latest/api/token")"
[ -n "$TOKEN" ] || die "no session token"
curl -sf "$SERVE_URL/latest/meta-data/iam/security-credentials/$ROLE" | grep -q ASIABENCHEXAMPLE0001 \
  || die "the credentials command's keys are not served"

echo "imds-spoof instructions per request (callgrind, user space, all threads), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "$REQUESTS keep-alive requests per row after $WARMUP of warm-up; commit $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- src || echo ' + changes')"
printf '%-22s %12s %10s\n' "row" "instructions" "per request"
row "hello" hello "$HELLO_PID" "$HELLO_URL/"
row "leaf v1" serve "$SERVE_PID" "$SERVE_URL/latest/meta-data/instance-id"
row "leaf v2" serve "$SERVE_PID" "$SERVE_URL/latest/meta-data/instance-id" "X-aws-ec2-metadata-token: $TOKEN"
row "creds cmd" serve "$SERVE_PID" "$SERVE_URL/latest/meta-data/iam/security-credentials/$ROLE"
row "creds ecs" serve "$SERVE_PID" "$SERVE_URL/v2/credentials/self" "$ECS_AUTH"
row "creds eks" serve "$SERVE_PID" "$SERVE_URL/v1/credentials" "$EKS_AUTH"
row "leaf v1 quiet" quiet "$QUIET_PID" "$QUIET_URL/latest/meta-data/instance-id"
sleep 1  # the printer writes its lines in batches, 10 ms behind
lines="$(grep -c 'imds_spoof::requests' "$WORK/serve.log" || true)"
expected=$(( 10000 + 3 * (WARMUP + REQUESTS) ))
[ "$lines" -ge "$expected" ] || die "the default server printed $lines request lines for at least $expected requests"
echo "(the default server printed a line per request: $lines lines; dumps for callgrind_annotate in $KEEP)"
