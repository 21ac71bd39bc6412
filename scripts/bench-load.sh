#!/usr/bin/env bash
# Load benchmarks of `imds-spoof serve` for issue 9's load items (7, 8, 9).
#
#   bash scripts/bench-load.sh MODE... [--duration SECONDS] [--rounds N] [--log-duration SECONDS]
#                                      [--no-pin] [--no-build]
#
# MODE is one or more of (or `all`):
#   tokens     200k token PUTs then GETs: PUT and GET rates with 10 live tokens and with
#              200k, on a fresh server each round (item 7). The config sets
#              [imds] token_puts_per_second = 0: the per-caller pace (1,000/s by default)
#              would otherwise pace this single caller's PUTs, which is its job.
#   neighbour  a second caller's IMDSv2 GET rate (from 127.0.0.2, scripts/bench_load_client.py)
#              alone and while 127.0.0.1 floods token PUTs with wrk (-c32); against the
#              default config (paced at 1,000 PUT/s per caller) and, for contrast, unpaced.
#   log        `serve --log-requests FILE` at full load (wrk -c32 on the leaf) for
#              --log-duration seconds (default 60): RSS sampled every 5 s, JSON lines written,
#              records dropped (item 8).
#   fds        `serve` started with an open-files soft limit of 1,024 (hard limit left as
#              is), 1,100 idle keep-alive connections, then probe requests (item 9); and the
#              same with the hard limit also 1,024, where serve cannot raise it.
# wrk (Debian package `wrk`), curl and python3 are needed. Servers run on cpu0, the load
# generators on cpu1 (taskset), as in scripts/bench-serve.sh. Each mode prints its figures.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION=4
ROUNDS=3
LOG_DURATION=60
PIN=1
BUILD=1
MODES=()

usage() { sed -n '3,5p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="${2:?}"; shift 2 ;;
    --rounds) ROUNDS="${2:?}"; shift 2 ;;
    --log-duration) LOG_DURATION="${2:?}"; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    --no-build) BUILD=0; shift ;;
    tokens|neighbour|log|fds) MODES+=("$1"); shift ;;
    all) MODES+=(tokens neighbour log fds); shift ;;
    -h|--help) usage ;;
    *) echo "bench-load: unknown argument $1" >&2; usage ;;
  esac
done
[ ${#MODES[@]} -gt 0 ] || usage

log() { printf 'bench-load: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  SERVER_CPU=(taskset -c 0)
  LOAD_CPU=(taskset -c 1)
  PINNING="server cpu0, load cpu1"
else
  SERVER_CPU=()
  LOAD_CPU=()
  PINNING="none"
fi

BIN_DIR="${CARGO_TARGET_DIR:-$REPO/target}/release"
if [ "$BUILD" = 1 ]; then
  log "building the release binary"
  (cd "$REPO" && cargo build --release --quiet --bin imds-spoof) >&2
fi
IMDS="$BIN_DIR/imds-spoof"
[ -x "$IMDS" ] || die "missing $IMDS (build it or drop --no-build)"
CLIENT=(python3 "$REPO/scripts/bench_load_client.py")

. "$REPO/scripts/bench-common.sh"
bench_workdir imds-spoof-bench-load

INSTANCE_ID="$BENCH_INSTANCE_ID"
LEAF="/latest/meta-data/instance-id"
write_config() { bench_config "$@"; }
write_config "$WORK/default.toml"
write_config "$WORK/unpaced.toml" $'\n[imds]\ntoken_puts_per_second = 0'

cat >"$WORK/put.lua" <<'EOF'
wrk.method = "PUT"
wrk.headers["X-aws-ec2-metadata-token-ttl-seconds"] = "21600"
EOF

stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
token_of() {
  curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$1/latest/api/token"
}
# wrk_run OUTFILE ARGS...: runs wrk on cpu1; prints "REQ_PER_S TOTAL_REQUESTS NON_2XX".
wrk_run() {
  local out="$1"; shift
  "${LOAD_CPU[@]}" wrk "$@" >"$out"
  awk '/^Requests\/sec:/ {r = $2} /requests in/ {n = $1} /Non-2xx/ {e = $NF}
       END {printf "%s %s %d\n", r, n, e}' "$out"
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", 100 * a / b}'; }
verdict() { awk -v v="$1" -v lo="$2" 'BEGIN {print (v >= lo) ? "PASS" : "FAIL"}'; }

header() {
  echo
  echo "== $1, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r); pinning: $PINNING"
}

mode_tokens() {
  header "tokens: 200k token PUTs then GETs ([imds] token_puts_per_second = 0, IMDS_SPOOF_LOG=warn)"
  echo "wrk -t2 -c32 -d${DURATION}s; a fresh server each round; $ROUNDS rounds"
  local round put10 get10 put200 get200 issued token r n e
  local -a P10 G10 P200 G200 RP RG
  for round in $(seq 1 "$ROUNDS"); do
    bench_start tokens env -u RUST_LOG IMDS_SPOOF_LOG=warn "${SERVER_CPU[@]}" \
      "$IMDS" serve --listen 127.0.0.1:0 --config "$WORK/unpaced.toml"
    local pid="$SERVER_PID"
    for _ in $(seq 1 10); do token="$(token_of "$URL")"; done
    issued=10
    # GETs with 10 live tokens (a 1 s warm-up first: GETs issue nothing).
    wrk_run "$WORK/w" -t2 -c32 -d1s -H "X-aws-ec2-metadata-token: $token" "$URL$LEAF" >/dev/null
    read -r get10 n e < <(wrk_run "$WORK/w" -t2 -c32 -d"${DURATION}s" -H "X-aws-ec2-metadata-token: $token" "$URL$LEAF")
    [ "$e" = 0 ] || die "GET errors: $e"
    # PUTs from 10 live tokens: every PUT issues one more, so this run ends with more.
    read -r put10 n e < <(wrk_run "$WORK/w" -t2 -c32 -d"${DURATION}s" -s "$WORK/put.lua" "$URL/latest/api/token")
    [ "$e" = 0 ] || die "PUT errors: $e"
    local put10_end=$((issued + n)); issued=$put10_end
    # Fill up to 200k issued tokens (all live: TTL 6 h).
    while [ "$issued" -lt 200000 ]; do
      read -r r n e < <(wrk_run "$WORK/w" -t2 -c32 -d2s -s "$WORK/put.lua" "$URL/latest/api/token")
      issued=$((issued + n))
    done
    local before200=$issued
    read -r put200 n e < <(wrk_run "$WORK/w" -t2 -c32 -d"${DURATION}s" -s "$WORK/put.lua" "$URL/latest/api/token")
    [ "$e" = 0 ] || die "PUT errors: $e"
    issued=$((issued + n))
    read -r get200 n e < <(wrk_run "$WORK/w" -t2 -c32 -d"${DURATION}s" -H "X-aws-ec2-metadata-token: $token" "$URL$LEAF")
    [ "$e" = 0 ] || die "GET errors: $e"
    curl -sf -H "X-aws-ec2-metadata-token: $token" "$URL$LEAF" >/dev/null || die "the first token stopped working"
    local rss; rss="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
    stop_server "$pid"
    printf 'round %d: GET %s / %s req/s (10 / %d live), PUT %s / %s req/s (10..%d / %d..%d live), server RSS %d kB\n' \
      "$round" "$get10" "$get200" "$issued" "$put10" "$put200" "$put10_end" "$before200" "$issued" "$rss"
    P10+=("$put10"); G10+=("$get10"); P200+=("$put200"); G200+=("$get200")
    RP+=("$(pct "$put200" "$put10")"); RG+=("$(pct "$get200" "$get10")")
  done
  local rp rg
  rp="$(printf '%s\n' "${RP[@]}" | median)"; rg="$(printf '%s\n' "${RG[@]}" | median)"
  printf 'median: GET %s req/s with 10 live, %s with 200k+ live; PUT %s from 10 live, %s from 200k+ live\n' \
    "$(printf '%s\n' "${G10[@]}" | median)" "$(printf '%s\n' "${G200[@]}" | median)" \
    "$(printf '%s\n' "${P10[@]}" | median)" "$(printf '%s\n' "${P200[@]}" | median)"
  printf 'GET 200k / 10: %s %% (rounds: %s)  target >= 80 %%  %s\n' "$rg" "${RG[*]}" "$(verdict "$rg" 80)"
  printf 'PUT 200k / 10: %s %% (rounds: %s)  target >= 80 %%  %s\n' "$rp" "${RP[*]}" "$(verdict "$rp" 80)"
}

mode_neighbour() {
  header "neighbour: 127.0.0.2's IMDSv2 GETs while 127.0.0.1 floods token PUTs"
  echo "neighbour: bench_load_client.py rate, 4 keep-alive connections, ${DURATION}s; flood: wrk -t2 -c32 PUT; $ROUNDS rounds"
  local kind round alone flooded flood_out r n e
  for kind in default unpaced; do
    bench_start "n-$kind" env -u RUST_LOG IMDS_SPOOF_LOG=warn "${SERVER_CPU[@]}" \
      "$IMDS" serve --listen 127.0.0.1:0 --config "$WORK/$kind.toml"
    local pid="$SERVER_PID" url="$URL"
    local -a RATIO=()
    for round in $(seq 1 "$ROUNDS"); do
      read -r _ alone _ _ _ e < <("${LOAD_CPU[@]}" "${CLIENT[@]}" rate --url "$url$LEAF" \
        --source 127.0.0.2 --token --duration "$DURATION")
      [ "$e" = 0 ] || die "neighbour errors alone: $e"
      "${LOAD_CPU[@]}" wrk -t2 -c32 -d"$((DURATION + 2))s" -s "$WORK/put.lua" \
        "$url/latest/api/token" >"$WORK/flood.txt" 2>&1 &
      local flood=$!
      sleep 1
      read -r _ flooded _ _ _ e < <("${LOAD_CPU[@]}" "${CLIENT[@]}" rate --url "$url$LEAF" \
        --source 127.0.0.2 --token --duration "$DURATION")
      [ "$e" = 0 ] || die "neighbour errors under the flood: $e"
      wait "$flood" || true
      r="$(awk '/^Requests\/sec:/ {print $2}' "$WORK/flood.txt")"
      n="$(awk '/Socket errors/ {print}' "$WORK/flood.txt" | sed 's/^ *//')"
      RATIO+=("$(pct "$flooded" "$alone")")
      printf '%-8s round %d: neighbour %s GET/s alone, %s during the flood (%s %%); flood answered %s PUT/s%s\n' \
        "$kind" "$round" "$alone" "$flooded" "${RATIO[-1]}" "$r" "${n:+; wrk: $n}"
    done
    local ratio; ratio="$(printf '%s\n' "${RATIO[@]}" | median)"
    if [ "$kind" = default ]; then
      printf '%-8s neighbour flooded / alone: %s %% (rounds: %s)  target >= 50 %%  %s\n' \
        "$kind" "$ratio" "${RATIO[*]}" "$(verdict "$ratio" 50)"
    else
      printf '%-8s neighbour flooded / alone: %s %% (rounds: %s)  (contrast: no target)\n' \
        "$kind" "$ratio" "${RATIO[*]}"
    fi
    stop_server "$pid"
  done
  echo "(default: [imds] token_puts_per_second = 1000, the flood is paced; unpaced: = 0, for contrast)"
}

mode_log() {
  header "log: serve --log-requests at full load for ${LOG_DURATION}s (default logging)"
  local jsonl="$WORK/requests.jsonl"
  bench_start log env -u RUST_LOG -u IMDS_SPOOF_LOG "${SERVER_CPU[@]}" \
    "$IMDS" serve --listen 127.0.0.1:0 --config "$WORK/default.toml" --log-requests "$jsonl"
  local pid="$SERVER_PID" url="$URL"
  rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
  local start; start="$(rss)"
  "${LOAD_CPU[@]}" wrk -t2 -c32 -d"${LOG_DURATION}s" "$url$LEAF" >"$WORK/log-wrk.txt" &
  local load=$! samples=() t=0
  while kill -0 "$load" 2>/dev/null; do
    sleep 5; t=$((t + 5))
    kill -0 "$load" 2>/dev/null && samples+=("$(rss)")
  done
  wait "$load"
  local end_rss; end_rss="$(rss)"
  sleep 2
  local after; after="$(rss)"
  local rps total lines dropped max
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$WORK/log-wrk.txt")"
  total="$(awk '/requests in/ {print $1}' "$WORK/log-wrk.txt")"
  lines="$(wc -l <"$jsonl")"
  dropped="$(grep -o 'dropped_total=[0-9]*' "$WORK/log.log" | tail -n1 | cut -d= -f2 || true)"
  max="$(printf '%s\n' "$start" "${samples[@]}" | sort -n | tail -n1)"
  echo "wrk -t2 -c32 -d${LOG_DURATION}s on the leaf: $rps req/s, $total requests"
  echo "RSS kB: start $start, every 5 s: ${samples[*]}, end of load $end_rss, 2 s later $after"
  printf 'RSS max %.1f MB  target < 60 MB  %s\n' "$(awk -v k="$max" 'BEGIN {print k / 1024}')" \
    "$(awk -v k="$max" 'BEGIN {print (k < 60 * 1024) ? "PASS" : "FAIL"}')"
  echo "request log: $lines JSON lines, ${dropped:-0} records dropped (reported by the writer), $((lines + ${dropped:-0})) of $total requests (+ warm-up: wrk counts only completed ones)"
  echo "drop reports in serve's log: $(grep -c 'request log falling behind' "$WORK/log.log" || true)"
  stop_server "$pid"
}

# fds_case NAME ULIMIT_ARGS: serve under `ulimit ULIMIT_ARGS 1024`, 1,100 idle connections, probes.
fds_case() {
  local name="$1" limit="$2"
  bench_start "fds-$name" bash -c "ulimit $limit 1024 && exec env -u RUST_LOG IMDS_SPOOF_LOG=warn ${SERVER_CPU[*]} '$IMDS' serve --listen 127.0.0.1:0 --config '$WORK/default.toml'"
  local pid="$SERVER_PID" url="$URL"
  echo "[$name] serve started under 'ulimit $limit 1024'; its limit now: $(awk '/Max open files/ {print "soft", $4, "hard", $5}' "/proc/$pid/limits")"
  local hold=40
  "${LOAD_CPU[@]}" "${CLIENT[@]}" idle --url "$url$LEAF" --count 1100 --hold "$hold" \
    >"$WORK/idle.out" 2>"$WORK/idle.err" &
  local idle=$! i
  for i in $(seq 1 600); do
    [ -s "$WORK/idle.out" ] && break
    sleep 0.1
  done
  echo "[$name] idle client: $(cat "$WORK/idle.out") $(head -c 300 "$WORK/idle.err")"
  echo "[$name] server open descriptors: $(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)"
  local probe code t
  for probe in 1 2 3; do
    read -r code t < <(curl -s -o /dev/null --max-time 35 -w '%{http_code} %{time_total}\n' "$url$LEAF" || true)
    echo "[$name] probe $probe during the idle flood: HTTP ${code:-none} in ${t:-?} s"
  done
  kill "$idle" 2>/dev/null || true
  wait "$idle" 2>/dev/null || true
  local warns; warns="$(grep -c 'accept failed' "$WORK/fds-$name.log" || true)"
  echo "[$name] 'accept failed ... backing off' warnings: $warns"
  stop_server "$pid"
}

mode_fds() {
  header "fds: 1,100 idle connections at an open-files soft limit of 1,024"
  echo "this shell's limit: soft $(ulimit -Sn), hard $(ulimit -Hn)"
  fds_case soft -Sn
  fds_case hard -n
}

for mode in "${MODES[@]}"; do
  "mode_$mode"
done
