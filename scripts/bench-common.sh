# Shared by the benchmark scripts (sourced, not run): a work directory removed on exit,
# and the background processes started into PIDS stopped with it.
#
#   . "$REPO/scripts/bench-common.sh"
#   bench_workdir imds-spoof-bench      # sets WORK and PIDS, installs the traps
#   bench_config FILE [EXTRA_TOML]      # the bench identity (no role), EXTRA appended
#   bench_command_role FILE             # bench_config with role bench-role from a command
#   bench_start NAME CMD...             # a server in the background; sets ADDR URL SERVER_PID

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

# The instance id every bench configuration serves at the leaf path.
BENCH_INSTANCE_ID="i-0b1e2c3d4e5f6a7b8"

bench_config() {
  cat >"$1" <<EOF
active_identity = "bench"

[[identity]]
name = "bench"
instance_id = "$BENCH_INSTANCE_ID"
instance_type = "m5.large"
ami_id = "ami-0b1e2c3d4e5f6a7b8"
account_id = "123456789012"
region = "us-east-1"
availability_zone = "us-east-1a"
local_ipv4 = "172.31.0.10"
mac = "0e:49:61:0f:c3:11"
${2:-}
EOF
}

# The bench identity with role $BENCH_ROLE, its credentials from a credential_process
# script that expires them an hour ahead and counts its runs in $WORK/creds-runs (so a
# bench can check that its cache served the rest).
BENCH_ROLE="bench-role"
bench_command_role() {
  cat >"$WORK/creds.sh" <<EOF
#!/bin/sh
echo run >>"$WORK/creds-runs"
exp=\$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version":1,"AccessKeyId":"ASIABENCHEXAMPLE0001","SecretAccessKey":"benchSecretKeyEXAMPLEbenchSecretKeyEXAMP","SessionToken":"benchTokenEXAMPLE","Expiration":"%s"}\n' "\$exp"
EOF
  bench_config "$1" "
[identity.role]
name = \"$BENCH_ROLE\"
source = \"command\"
command = \"sh $WORK/creds.sh\""
}

# bench_start NAME CMD...: runs CMD in the background (stdout to $WORK/NAME.out, stderr to
# $WORK/NAME.log), waits up to 60 s for its "serving on http://ADDR" line (valgrind'd
# servers start slowly); sets ADDR, URL and SERVER_PID. The caller defines `die`.
bench_start() {
  local name="$1"; shift
  : >"$WORK/$name.out"
  : >"$WORK/$name.log"
  "$@" >"$WORK/$name.out" 2>>"$WORK/$name.log" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  local i
  for i in $(seq 1 600); do
    ADDR="$(sed -n 's|.*serving on http://\([^ ]*\).*|\1|p' "$WORK/$name.out" | head -n1)"
    if [ -n "$ADDR" ]; then URL="http://$ADDR"; return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "$name exited at start"; }
    sleep 0.1
  done
  die "$name did not report its address"
}
