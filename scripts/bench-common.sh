# Shared by the benchmark scripts (sourced, not run): a work directory removed on exit,
# and the background processes started into PIDS stopped with it.
#
#   . "$REPO/scripts/bench-common.sh"
#   bench_workdir imds-spoof-bench      # sets WORK and PIDS, installs the traps

bench_workdir() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  PIDS=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
