#!/usr/bin/env bash
# Load benchmark of `imds-spoof serve` against the ceiling of a bare axum server.
#
#   bash scripts/bench-serve.sh [--duration SECONDS] [--rounds N] [--threads N]
#                               [--connections N] [--nice N] [--no-pin] [--no-build]
#
# Measures with wrk (Debian package `wrk`), the same parameters for every row:
#   hello        examples/bench_hello.rs: plain axum::serve, GET / -> "hello"
#   leaf v1      GET /latest/meta-data/instance-id
#   leaf v2      the same with an X-aws-ec2-metadata-token obtained first (PUT /latest/api/token)
#   creds cmd    GET /latest/meta-data/iam/security-credentials/ROLE, the role's source is
#                "command" (a sh script printing credential_process JSON expiring in 1 h),
#                so after the first request every answer comes from the credentials cache
#   creds ecs    the same credentials at the ECS door: GET /v2/credentials/self with serve's
#                container token in Authorization (AWS_CONTAINER_CREDENTIALS_FULL_URI style)
#   creds eks    the same at the EKS door: GET /v1/credentials with a pod token from
#                `imds-spoof token` in Authorization
# The imds-spoof rows run against two servers: one with the default log filter (a log line
# per request on stderr, what `serve` does out of the box) and one quiet
# (IMDS_SPOOF_LOG=warn). Targets (the issue), on the default server:
#   leaf v1 >= 70 % of hello, creds cmd >= 90 % of leaf v1; and (issue 11) the ECS and EKS
#   doors' credentials >= 90 % of the IMDS credentials (creds cmd), default server only.
#
# All servers run at once; each round measures every row once, in turn (starting one row
# later each round). The table shows each row's median round; the ratios are the median of
# the ratios within each round, since this VM's speed drifts from round to round.
# Pinning (default when there are 2+ cores): servers on cpu0, wrk on cpu1, so the load
# generator never steals the server's core; the servers then see one core and tokio starts
# one worker, the same for all of them. --no-pin lets the kernel schedule everything.
# --nice N runs servers and wrk at that niceness (negative needs root): on a machine shared
# with builds, -10 keeps them from stealing the measured cores (the 'other' column shows it).
# Server stderr goes to a file (truncated after each run): a real write per log line.
# "srv cpu" is the server's CPU use during the run (100 % = one core; below that, the server
# was not the bottleneck or lost its core to other programs); "req/cpu-s" is requests per
# second of server CPU, which depends less on who the bottleneck was; "other" is CPU used by
# anything else beyond wrk's core. Rows with srv cpu < 90 % or other > 10 % are marked '*'.
# Exit status: 0 when every run succeeded (whatever PASS/FAIL says), 1 on a broken run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION=10
ROUNDS=3
THREADS=2
CONNECTIONS=32
PIN=1
BUILD=1
NICE=
LEAF_TARGET=70
CREDS_TARGET=90
DOOR_TARGET=90

usage() { sed -n '3,4p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="${2:?}"; shift 2 ;;
    --rounds) ROUNDS="${2:?}"; shift 2 ;;
    --threads) THREADS="${2:?}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?}"; shift 2 ;;
    --nice) NICE="${2:?}"; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage ;;
    *) echo "bench-serve: unknown argument $1" >&2; usage ;;
  esac
done
for n in "$DURATION" "$ROUNDS" "$THREADS" "$CONNECTIONS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-serve: '$n' is not a positive whole number" >&2; exit 2; }
done

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
  PINNING="server cpu0, wrk cpu1"
else
  SERVER_CPU=()
  LOAD_CPU=()
  PINNING="none"
fi
if [ -n "$NICE" ]; then
  [[ "$NICE" =~ ^-?[0-9]+$ ]] || die "--nice wants a whole number"
  SERVER_CPU=(nice -n "$NICE" "${SERVER_CPU[@]}")
  LOAD_CPU=(nice -n "$NICE" "${LOAD_CPU[@]}")
  PINNING="$PINNING, nice $NICE"
fi

BIN_DIR="${CARGO_TARGET_DIR:-$REPO/target}/release"
if [ "$BUILD" = 1 ]; then
  log "building release binaries"
  (cd "$REPO" && cargo build --release --quiet --bin imds-spoof --example bench_hello) >&2
fi
IMDS="$BIN_DIR/imds-spoof"
HELLO="$BIN_DIR/examples/bench_hello"
[ -x "$IMDS" ] && [ -x "$HELLO" ] || die "missing $IMDS or $HELLO (build them or drop --no-build)"

. "$REPO/scripts/bench-common.sh"
bench_workdir imds-spoof-bench

ROLE="$BENCH_ROLE"
INSTANCE_ID="$BENCH_INSTANCE_ID"
# The credentials command counts its runs, so we can check the cache served the rest.
bench_command_role "$WORK/config.toml"

# Checks that a serve instance answers what the rows measure; prints a session token.
check_serve() {
  local base="$1" token
  [ "$(curl -sf "$base/latest/meta-data/instance-id")" = "$INSTANCE_ID" ] || die "serve: wrong instance-id"
  token="$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$base/latest/api/token")"
  [ -n "$token" ] || die "serve: no session token"
  curl -sf -H "X-aws-ec2-metadata-token: $token" "$base/latest/meta-data/instance-id" >/dev/null \
    || die "serve: the session token is refused"
  curl -sf "$base/latest/meta-data/iam/security-credentials/$ROLE" \
    | grep -q '"AccessKeyId" : "ASIABENCHEXAMPLE0001"' \
    || die "serve: the credentials command's keys are not served"
  echo "$token"
}

bench_start hello "${SERVER_CPU[@]}" "$HELLO" 0
HELLO_PID="$SERVER_PID"; HELLO_URL="http://$ADDR"
[ "$(curl -sf "$HELLO_URL/")" = "hello" ] || die "bench_hello does not answer hello"

bench_start serve-default env -u IMDS_SPOOF_LOG -u RUST_LOG "${SERVER_CPU[@]}" \
  "$IMDS" serve --listen 127.0.0.1:0 --config "$WORK/config.toml" \
  --container-token-file "$WORK/container-token"
DEFAULT_PID="$SERVER_PID"; DEFAULT_URL="http://$ADDR"
DEFAULT_TOKEN="$(check_serve "$DEFAULT_URL")"

# The container doors on the default server: serve's ECS token, a pod token for the bench
# identity; both must serve the command's keys before they are measured.
ECS_AUTH="$(cat "$WORK/container-token")"
"$IMDS" --config "$WORK/config.toml" token --identity bench --ttl 1h --out "$WORK/pod-token" >/dev/null \
  || die "imds-spoof token failed"
EKS_AUTH="$(cat "$WORK/pod-token")"
ECS_PATH="/v2/credentials/self"
EKS_PATH="/v1/credentials"
for door in "ECS $ECS_PATH $ECS_AUTH" "EKS $EKS_PATH $EKS_AUTH"; do
  read -r name path auth <<<"$door"
  curl -sf -H "Authorization: $auth" "$DEFAULT_URL$path" | grep -q '"AccessKeyId":"ASIABENCHEXAMPLE0001"' \
    || die "serve: the $name door does not serve the credentials command's keys"
done

bench_start serve-quiet env -u RUST_LOG IMDS_SPOOF_LOG=warn "${SERVER_CPU[@]}" \
  "$IMDS" serve --listen 127.0.0.1:0 --config "$WORK/config.toml"
QUIET_PID="$SERVER_PID"; QUIET_URL="http://$ADDR"
QUIET_TOKEN="$(check_serve "$QUIET_URL")"

LEAF="/latest/meta-data/instance-id"
CREDS="/latest/meta-data/iam/security-credentials/$ROLE"
# label|server pid|log name|url|header
ROWS=(
  "hello|$HELLO_PID|hello|$HELLO_URL/|"
  "leaf v1|$DEFAULT_PID|serve-default|$DEFAULT_URL$LEAF|"
  "leaf v2|$DEFAULT_PID|serve-default|$DEFAULT_URL$LEAF|X-aws-ec2-metadata-token: $DEFAULT_TOKEN"
  "creds cmd|$DEFAULT_PID|serve-default|$DEFAULT_URL$CREDS|"
  "creds ecs|$DEFAULT_PID|serve-default|$DEFAULT_URL$ECS_PATH|Authorization: $ECS_AUTH"
  "creds eks|$DEFAULT_PID|serve-default|$DEFAULT_URL$EKS_PATH|Authorization: $EKS_AUTH"
  "leaf v1 quiet|$QUIET_PID|serve-quiet|$QUIET_URL$LEAF|"
  "leaf v2 quiet|$QUIET_PID|serve-quiet|$QUIET_URL$LEAF|X-aws-ec2-metadata-token: $QUIET_TOKEN"
  "creds cmd quiet|$QUIET_PID|serve-quiet|$QUIET_URL$CREDS|"
)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
CLK_TCK="$(getconf CLK_TCK)"
declare -A RESULTS LOG_LINES REQUESTS
# measure ROUND ROW: a 2 s warm-up, then the measured run; stores "rps p99ms cpu% other%".
measure() {
  local round="$1" row="$2" label pid logname url header
  IFS='|' read -r label pid logname url header <<<"$row"
  local args=(-t"$THREADS" -c"$CONNECTIONS" --latency)
  [ -n "$header" ] && args+=(-H "$header")
  "${LOAD_CPU[@]}" wrk "${args[@]}" -d2s "$url" >/dev/null
  local srv0 busy0 srv1 busy1 wrk_pid out
  srv0="$(cpu_ticks "$pid")"; busy0="$(busy_ticks)"
  out="$("${LOAD_CPU[@]}" wrk "${args[@]}" -d"${DURATION}s" "$url")"
  srv1="$(cpu_ticks "$pid")"; busy1="$(busy_ticks)"
  echo "$out" >"$WORK/wrk-$label-$round.txt"
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
  [ -n "$rps" ] && [ -n "$p99" ] && [ -n "$total" ] || { echo "$out" >&2; die "$label: cannot read wrk's output"; }
  # "other": CPU used on the machine by anything but this server, beyond wrk's one core.
  local cpu other
  cpu="$(awk -v t=$((srv1 - srv0)) -v hz="$CLK_TCK" -v d="$DURATION" 'BEGIN {printf "%.0f", 100 * t / hz / d}')"
  other="$(awk -v b=$((busy1 - busy0)) -v s=$((srv1 - srv0)) -v hz="$CLK_TCK" -v d="$DURATION" \
    'BEGIN {o = 100 * (b - s) / hz / d - 100; printf "%.0f", (o < 0) ? 0 : o}')"
  RESULTS["$label|$round"]="$rps $p99 $cpu $other"
  REQUESTS[$logname]=$(( ${REQUESTS[$logname]:-0} + total ))
  local lines
  lines="$(grep -c 'imds_spoof::requests' "$WORK/$logname.log" || true)"
  LOG_LINES[$logname]=$(( ${LOG_LINES[$logname]:-0} + lines ))
  : >"$WORK/$logname.log"
  log "round $round, $label: $rps req/s, p99 ${p99} ms, server cpu ${cpu} %, other load ${other} %"
}

log "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency, $ROUNDS rounds; pinning: $PINNING"
for round in $(seq 1 "$ROUNDS"); do
  # Each round starts one row later, so no row always runs first or last.
  for i in $(seq 0 $(( ${#ROWS[@]} - 1 ))); do
    measure "$round" "${ROWS[$(( (i + round - 1) % ${#ROWS[@]} ))]}"
  done
done

# The default server must have logged every request and the quiet one none, or the
# comparison means nothing; the command must have run once per server (cache hits after).
[ "${LOG_LINES[serve-default]}" -ge "${REQUESTS[serve-default]}" ] \
  || die "the default server logged ${LOG_LINES[serve-default]} lines for ${REQUESTS[serve-default]} requests"
[ "${LOG_LINES[serve-quiet]}" -eq 0 ] || die "the quiet server logged ${LOG_LINES[serve-quiet]} request lines"
runs="$(wc -l <"$WORK/creds-runs")"
[ "$runs" -eq 2 ] || die "the credentials command ran $runs times for 2 servers: not served from its cache"

# median LABEL FIELD: the FIELD (1 rps, 2 p99, 3 cpu, 4 other) of LABEL's median-rps round.
median_round() {
  local label="$1" round
  for round in $(seq 1 "$ROUNDS"); do
    echo "${RESULTS["$label|$round"]%% *} $round"
  done | sort -g | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2) {print $2}'
}
field() {
  local label="$1" n="$2" round
  round="$(median_round "$label")"
  awk -v n="$n" '{print $n}' <<<"${RESULTS["$label|$round"]}"
}
# round_ratio A B: A's req/s over B's in each round, then the median of those: the VM's speed
# drifts between rounds (even idle), and a ratio within one round cancels most of it.
round_ratio() {
  local round
  for round in $(seq 1 "$ROUNDS"); do
    awk -v a="${RESULTS["$1|$round"]%% *}" -v b="${RESULTS["$2|$round"]%% *}" \
      'BEGIN {printf "%.1f\n", 100 * a / b}'
  done | sort -g | awk -v n="$ROUNDS" '{v[NR] = $1} END {printf "%s", v[int((n + 1) / 2)];
    printf " (rounds:"; for (i = 1; i <= NR; i++) printf " %s", v[i]; printf ")"}'
}
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r >= t) ? "PASS" : "FAIL"}'; }

echo
echo "imds-spoof serve load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $CORES cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r)"
echo "load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency after a 2 s warm-up;" \
  "median of $ROUNDS rounds; pinning: $PINNING"
echo
printf '%-16s %10s %8s %8s %10s %8s   %s\n' "row" "req/s" "p99 ms" "srv cpu" "req/cpu-s" "other" "req/s of every round"
NOISY=0
for row in "${ROWS[@]}"; do
  label="${row%%|*}"
  rps="$(field "$label" 1)"; cpu="$(field "$label" 3)"; other="$(field "$label" 4)"
  per_cpu="$(awk -v r="$rps" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0) ? r * 100 / c : 0}')"
  all="$(for round in $(seq 1 "$ROUNDS"); do printf '%s ' "${RESULTS["$label|$round"]%% *}"; done)"
  # A server that did not get its whole core, or other load, makes the row unreliable.
  mark=" "
  if [ "$cpu" -lt 90 ] || [ "$other" -gt 10 ]; then mark="*"; NOISY=1; fi
  printf '%-16s %10s %8s %7s%% %10s %7s%% %s %s\n' "$label" "$rps" "$(field "$label" 2)" "$cpu" \
    "$per_cpu" "$other" "$mark" "$all"
done
[ "$NOISY" = 0 ] || echo "* the server had less than 90 % of its core or other programs were busy: noisy row"

echo
echo "ratios: median over rounds of the ratio within each round"
for suffix in "" " quiet"; do
  name="${suffix:- default}"; name="${name# }"
  r1="$(round_ratio "leaf v1$suffix" hello)"
  r2="$(round_ratio "leaf v2$suffix" hello)"
  rc="$(round_ratio "creds cmd$suffix" "leaf v1$suffix")"
  printf '%-8s leaf v1 / hello  %6s %%  target >= %d %%  %s  %s\n' "$name" "${r1%% *}" "$LEAF_TARGET" "$(verdict "${r1%% *}" "$LEAF_TARGET")" "${r1#* }"
  printf '%-8s leaf v2 / hello  %6s %%  target >= %d %%  %s  %s\n' "$name" "${r2%% *}" "$LEAF_TARGET" "$(verdict "${r2%% *}" "$LEAF_TARGET")" "${r2#* }"
  printf '%-8s creds / leaf v1  %6s %%  target >= %d %%  %s  %s\n' "$name" "${rc%% *}" "$CREDS_TARGET" "$(verdict "${rc%% *}" "$CREDS_TARGET")" "${rc#* }"
done
for door in ecs eks; do
  rd="$(round_ratio "creds $door" "creds cmd")"
  printf '%-8s creds %s / cmd  %6s %%  target >= %d %%  %s  %s\n' default "$door" "${rd%% *}" "$DOOR_TARGET" "$(verdict "${rd%% *}" "$DOOR_TARGET")" "${rd#* }"
done
echo "(the issue's targets apply to the 'default' lines: what a user gets out of the box)"
