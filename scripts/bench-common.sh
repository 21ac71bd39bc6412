# Shared by the benchmark scripts (sourced, not run): a work directory removed on exit,
# and the background processes started into PIDS stopped with it.
#
#   . "$REPO/scripts/bench-common.sh"
#   bench_workdir imds-spoof-bench      # sets WORK and PIDS, installs the traps
#   bench_config FILE [EXTRA_TOML]      # the bench identity (no role), EXTRA appended
#   bench_command_role FILE             # bench_config with role bench-role from a command

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
