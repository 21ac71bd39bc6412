#!/usr/bin/env bash
# Prepares rootful Podman for the Podman tests (tests/podman.rs), idempotently:
#
#   bash scripts/podman-setup.sh
#
# 1. podman from apt, when missing (as root, non-interactively).
# 2. /etc/containers/containers.conf with lowered default ulimits, when it has none: on
#    machines where raising rlimits is not permitted (this project's CI sandbox) Podman's
#    defaults fail every container start. A preparation of such machines, not something
#    imds-spoof needs: skipped when the file already sets default_ulimits.
# 3. Podman's API service on its rootful socket, /run/podman/podman.sock, when nothing
#    answers there (systemd's podman.socket where there is one, else a background
#    `podman system service --time=0`).
# 4. The offline images (scripts/offline-images.sh builds them in Docker) loaded into
#    Podman, when missing there; Podman names them localhost/imds-spoof/…
#
# Exit status 0 when the socket answers with both images present; non-zero otherwise.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOCKET=/run/podman/podman.sock
IMAGES=(imds-spoof/nginx-offline:latest imds-spoof/client-offline:latest)

say() { printf 'podman-setup: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

answers() {
    curl -sf --max-time 5 --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1
}

if ! command -v podman >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
        || die "podman is missing (install it: apt-get install podman)"
    say "installing podman"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update >&2 && apt-get install -y -q podman >&2 || die "apt-get install podman failed"
fi
[ "$(id -u)" = 0 ] || die "rootful Podman needs root"

conf=/etc/containers/containers.conf
if ! grep -qs '^[[:space:]]*default_ulimits' "$conf"; then
    say "lowering Podman's default ulimits in $conf (this machine may not raise rlimits)"
    mkdir -p /etc/containers
    if grep -qs '^\[containers\]' "$conf"; then
        sed -i '/^\[containers\]/a default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]' "$conf"
    else
        printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' >>"$conf"
    fi
fi

if ! answers; then
    mkdir -p "$(dirname "$SOCKET")"
    if command -v systemctl >/dev/null 2>&1 && systemctl start podman.socket >/dev/null 2>&1 && answers; then
        say "started podman.socket"
    else
        say "starting podman system service on $SOCKET"
        rm -f "$SOCKET"
        nohup podman system service --time=0 "unix://$SOCKET" >/tmp/imds-spoof-podman-service.log 2>&1 &
        for _ in $(seq 1 50); do answers && break; sleep 0.2; done
    fi
fi
answers || die "Podman's API does not answer at $SOCKET (see /tmp/imds-spoof-podman-service.log)"

for image in "${IMAGES[@]}"; do
    if ! podman image exists "localhost/$image"; then
        docker image inspect "$image" >/dev/null 2>&1 \
            || bash "$REPO/scripts/offline-images.sh" >&2 \
            || die "could not build $image"
        say "loading $image into Podman"
        docker save "$image" | podman load >&2 || die "podman load of $image failed"
    fi
done
say "rootful Podman answers at $SOCKET with the offline images"
