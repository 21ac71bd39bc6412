#!/usr/bin/env bash
# Is a container's IMDS rate kept while a neighbour floods the ECS door's task metadata?
#
#   bash scripts/bench-neighbour.sh [--duration 10] [--rounds 3] [--path /v4/self/stats] [--bin PATH]
#
# Brings the real stack up (`imds-spoof up` on the local engine, offline images from
# scripts/offline-images.sh), then, each for DURATION seconds with wrk in containers on the
# imds-spoof network:
#   1. unloaded: the neighbour alone, GET /latest/meta-data/instance-id (IMDSv1);
#   2. loaded:   the same while a flooder runs wrk at full speed on http://169.254.170.2PATH.
# ROUNDS times, alternating, so that drift on a shared machine hits both alike. Prints each
# round, the median of the per-round ratios, and the flooder's rate and non-2xx answers. Needs root or the
# docker group, wrk on the host (its /usr is mounted into the client image), and a release
# build (`cargo build --release`). Removes everything it started.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
duration=10
rounds=3
BIN="$REPO/target/release/imds-spoof"
flood_path=/v4/self/stats
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="${2:?}"; shift ;;
    --path) flood_path="${2:?}"; shift ;;
    --rounds) rounds="${2:?}"; shift ;;
    --bin) BIN="${2:?}"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
bash scripts/offline-images.sh >/dev/null 2>&1
mapfile -t MOUNTS < <(bash scripts/offline-images.sh --print-client-mounts)

work="$(mktemp -d)"
config="$work/config.toml"
"$BIN" --config "$config" status >/dev/null 2>&1 || true
sed -i 's|^image = "nginx:.*"|image = "imds-spoof/nginx-offline:latest"|' "$config"
sed -i "s|^port = 1338|port = $((20000 + RANDOM % 20000))|" "$config"
IMDS_SPOOF_LOG=warn "$BIN" --config "$config" up --json >"$work/up.out" 2>"$work/up.err" &
up_pid=$!
cleanup() {
  docker rm -f imds-spoof-bench-flood imds-spoof-bench-neighbour >/dev/null 2>&1 || true
  kill "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  grep -q '"ready"' "$work/up.out" 2>/dev/null && break
  kill -0 "$up_pid" 2>/dev/null || { cat "$work/up.err" >&2; exit 1; }
  sleep 0.5
done
grep -q '"ready"' "$work/up.out" || { echo "up did not get ready" >&2; cat "$work/up.err" >&2; exit 1; }

# wrk in a container on the network: NAME, URL, [extra wrk args].
wrk_in() {
  local name="$1" url="$2"
  docker run --rm --name "$name" --network imds-spoof --label imds-spoof.test=true \
    "${MOUNTS[@]}" imds-spoof/client-offline:latest \
    wrk -t1 -c8 -d"${duration}s" --latency "$url"
}
rate_of() { awk '/Requests\/sec/ { print $2 }'; }

imds_url=http://169.254.169.254:80/latest/meta-data/instance-id
wrk_in imds-spoof-bench-neighbour "$imds_url" >/dev/null  # warm-up

ratios=()
for round in $(seq 1 "$rounds"); do
  unloaded="$(wrk_in imds-spoof-bench-neighbour "$imds_url" | rate_of)"
  # The flooder starts first and outlasts the neighbour's run.
  docker run -d --name imds-spoof-bench-flood --network imds-spoof --label imds-spoof.test=true \
    "${MOUNTS[@]}" imds-spoof/client-offline:latest \
    wrk -t1 -c8 -d"$((duration + 4))s" "http://169.254.170.2:80$flood_path" >/dev/null
  sleep 2
  loaded="$(wrk_in imds-spoof-bench-neighbour "$imds_url" | rate_of)"
  docker wait imds-spoof-bench-flood >/dev/null
  flood="$(docker logs imds-spoof-bench-flood 2>&1)"
  docker rm -f imds-spoof-bench-flood >/dev/null
  flood_rate="$(printf '%s\n' "$flood" | rate_of)"
  non2xx="$(printf '%s\n' "$flood" | awk '/Non-2xx/ { print $NF }')"
  ratio="$(awk -v a="$loaded" -v b="$unloaded" 'BEGIN { printf "%.1f", 100 * a / b }')"
  ratios+=("$ratio")
  printf 'round %s: neighbour alone %8.0f req/s, during the flood %8.0f req/s (%s %%); flooder on %s %.1f req/s, non-2xx %s\n' \
    "$round" "$unloaded" "$loaded" "$ratio" "$flood_path" "$flood_rate" "${non2xx:-0}"
done
median="$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
printf 'median ratio: %s %% of the unloaded rate\n' "$median"
