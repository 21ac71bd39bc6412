#!/usr/bin/env bash
# The project's test command: prepares what the tests need on this machine, then runs
# formatting, lint and every test target.
#
#   bash scripts/test.sh
#
# 1. System tools the tests call (curl, wrk, tmux, openssl, docker-compose): installed with apt-get only
#    when missing and only as root, non-interactively.
# 2. The Python venv with the real IMDS clients (scripts/python-env.sh); its python is
#    exported as IMDS_SPOOF_PYTHON for tests/real_clients.rs and others.
# 3. The offline Docker images (scripts/offline-images.sh) when a Docker engine answers;
#    skipped with a message otherwise, unless IMDS_SPOOF_REQUIRE_DOCKER=1 (then a failure).
#    Then rootful and rootless Podman (the user imds-spoof-podman) with the same images
#    (scripts/podman-setup.sh), as root, under CI=true or IMDS_SPOOF_PODMAN_SETUP=1 only:
#    it changes the machine.
# 4. cargo fmt --check, cargo clippy --all-targets -D warnings, cargo test --all-targets.
#
# Every step runs even after an earlier one failed, so one run shows every problem; the
# exit status is non-zero when any step failed.
#
# Tests that need something this machine lacks (a Docker engine, the Python clients, tmux,
# curl, openssl, the offline images) skip: libtest still shows them `ok`, but each writes
# `SKIPPED <test>: <reason>` (tests/support/need.rs), and the summary ends with a line
# `skipped N tests: NAME (REASON), ...`. A need fails instead of skipping when required:
# IMDS_SPOOF_REQUIRE_DOCKER=1 (engine, images), IMDS_SPOOF_REQUIRE_CLIENTS=1 (Python
# clients), IMDS_SPOOF_REQUIRE_TOOLS=1 (tmux, curl, openssl); CI=true requires them all.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO" || exit 1

if [ "${CI:-}" = "true" ]; then
    export IMDS_SPOOF_REQUIRE_DOCKER=1 IMDS_SPOOF_REQUIRE_CLIENTS=1 IMDS_SPOOF_REQUIRE_TOOLS=1
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

failed=()
summary=()
script_started=$SECONDS
test_log="$(mktemp -t imds-spoof-test.XXXXXX)"
trap 'rm -f "$test_log"' EXIT

section() { printf '\n======== %s ========\n' "$*"; }
note() { printf 'test.sh: %s\n' "$*"; }
is_set() { [ "${!1:-}" = "1" ] || [ "${!1:-}" = "true" ]; }

# step NAME COMMAND...: runs a step under a header, records its outcome and duration.
step() {
    local name="$1"
    shift
    section "$name"
    local started=$SECONDS
    "$@"
    local status=$?
    local took=$((SECONDS - started))
    if [ "$status" -eq 0 ]; then
        summary+=("ok      ${name} (${took}s)")
    else
        summary+=("FAILED  ${name} (${took}s, exit ${status})")
        failed+=("$name")
    fi
    return 0
}

install_tools() {
    # command -> Debian package
    local -A packages=([curl]=curl [wrk]=wrk [tmux]=tmux [openssl]=openssl [docker-compose]=docker-compose)
    local missing=()
    local tool
    for tool in "${!packages[@]}"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("${packages[$tool]}")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        note "curl, wrk, tmux, openssl and docker-compose are present"
        return 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        note "missing: ${missing[*]} (not root or no apt-get: install them yourself; tests needing them skip or fail)"
        return 0
    fi
    note "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update && apt-get install -y -q --no-install-recommends "${missing[@]}"
}

python_env() {
    local python
    if ! python="$(bash scripts/python-env.sh | tail -n1)" || [ ! -x "$python" ]; then
        if is_set IMDS_SPOOF_REQUIRE_CLIENTS; then
            note "could not build the Python venv, and IMDS_SPOOF_REQUIRE_CLIENTS=1"
            return 1
        fi
        note "could not build the Python venv: real-client tests will be skipped"
        return 0
    fi
    export IMDS_SPOOF_PYTHON="$python"
    note "IMDS_SPOOF_PYTHON=$IMDS_SPOOF_PYTHON"
}

docker_images() {
    if ! command -v docker >/dev/null 2>&1 || ! timeout 20 docker info >/dev/null 2>&1; then
        if is_set IMDS_SPOOF_REQUIRE_DOCKER; then
            note "no Docker engine answers, and IMDS_SPOOF_REQUIRE_DOCKER=1"
            return 1
        fi
        note "no Docker engine answers: skipping the offline images; Docker tests will skip"
        return 0
    fi
    # With the venv known, also check that its python runs inside the client image.
    local venv_args=()
    if [ -n "${IMDS_SPOOF_PYTHON:-}" ]; then
        venv_args=(--venv "$(dirname "$(dirname "$IMDS_SPOOF_PYTHON")")")
    fi
    bash scripts/offline-images.sh "${venv_args[@]}"
}

podman_rootful() {
    # Preparing Podman changes the machine (a user, /dev/net/tun, containers.conf): done
    # under CI=true (which requires the Podman tests) or when asked for.
    if [ "${CI:-}" != "true" ] && ! is_set IMDS_SPOOF_PODMAN_SETUP; then
        note "not preparing Podman (it adds a user and changes /dev/net/tun and containers.conf): IMDS_SPOOF_PODMAN_SETUP=1 or CI=true does; Podman tests will skip unless it is ready"
        return 0
    fi
    if bash scripts/podman-setup.sh --rootless imds-spoof-podman; then
        return 0
    fi
    if is_set IMDS_SPOOF_REQUIRE_DOCKER; then
        note "Podman could not be prepared, and IMDS_SPOOF_REQUIRE_DOCKER=1"
        return 1
    fi
    note "Podman could not be prepared: Podman tests will skip"
    return 0
}

step "system tools" install_tools
step "python clients venv" python_env
step "offline docker images" docker_images
step "podman, rootful and rootless" podman_rootful
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy --all-targets -- -D warnings" cargo clippy --all-targets -- -D warnings
# The output is shown as it comes and kept, to count the skipped tests afterwards; every
# test binary runs even after one failed.
run_tests() {
    cargo test --all-targets --no-fail-fast 2>&1 | tee "$test_log"
}

# "skipped N tests: NAME (REASON), ..." from the SKIPPED lines of the test output (a line
# may follow libtest's "test NAME ... " on the same line); nothing when none skipped.
skipped_line() {
    local lines
    lines="$(grep -o 'SKIPPED .*' "$test_log" | sed -E 's/^SKIPPED ([^:]*): ([^;]*).*$/\1 (\2)/')"
    [ -n "$lines" ] || return 0
    local count
    count="$(printf '%s\n' "$lines" | wc -l)"
    printf 'skipped %s tests: %s\n' "$count" "$(printf '%s\n' "$lines" | paste -sd ',' | sed 's/,/, /g')"
}

step "cargo test --all-targets" run_tests

section "summary"
printf '%s\n' "${summary[@]}"
printf 'total %ss\n' "$((SECONDS - script_started))"
skipped="$(skipped_line)"
status=0
if [ "${#failed[@]}" -gt 0 ]; then
    note "failed: $(printf '%s\n' "${failed[@]}" | paste -sd ',' | sed 's/,/, /g')"
    status=1
else
    note "all steps passed"
fi
# Last, so that a run that skipped tests says so where the eye lands.
[ -z "$skipped" ] || note "$skipped"
exit "$status"
