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
# 4. The offline images, built into Podman's store by scripts/offline-images.sh --engine
#    podman when missing there; Podman names them localhost/imds-spoof/…
#
# 5. With --rootless USER: rootless Podman for USER too: the user (made when missing, with
#    subordinate ids), /dev/net/tun open to it (slirp4netns needs it; on this project's CI
#    machines only root may open it), its runtime directory, its API service on
#    /run/user/UID/podman/podman.sock, and the images loaded into its storage.
#
# Exit status 0 when the socket answers with both images present; non-zero otherwise.
set -uo pipefail

ROOTLESS_USER=""
if [ "${1:-}" = "--rootless" ]; then
    ROOTLESS_USER="${2:?--rootless needs a user name}"
fi

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
# Pods need a pause image, which Podman builds locally from catatonit (no registry).
if ! command -v catatonit >/dev/null 2>&1 && [ ! -x /usr/libexec/podman/catatonit ]; then
    say "installing catatonit (pods' pause image)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q catatonit >&2 || die "apt-get install catatonit failed"
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

# Built straight into Podman's store (no Docker needed); kept when present.
bash "$REPO/scripts/offline-images.sh" --engine podman >&2 || die "could not build the offline images in Podman"
say "rootful Podman answers at $SOCKET with the offline images"

[ -n "$ROOTLESS_USER" ] || exit 0
user="$ROOTLESS_USER"
for tool in newuidmap slirp4netns; do
    command -v "$tool" >/dev/null 2>&1 || {
        say "installing uidmap and slirp4netns"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q uidmap slirp4netns >&2 \
            || die "apt-get install uidmap slirp4netns failed"
        break
    }
done
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user" || die "useradd $user failed"
for file in /etc/subuid /etc/subgid; do
    # One range per user: a repeated line makes newuidmap refuse the map.
    grep -q "^$user:" "$file" 2>/dev/null || echo "$user:200000:65536" >>"$file"
    awk '!seen[$0]++' "$file" >"$file.imds-spoof" && cat "$file.imds-spoof" >"$file" && rm -f "$file.imds-spoof"
done
if [ -e /dev/net/tun ] && ! runuser -u "$user" -- test -r /dev/net/tun; then
    say "opening /dev/net/tun to $user (slirp4netns)"
    chmod 0666 /dev/net/tun
fi
uid="$(id -u "$user")"
runtime="/run/user/$uid"
mkdir -p "$runtime" && chown "$user:" "$runtime" && chmod 0700 "$runtime"
as_user() { runuser -u "$user" -- env XDG_RUNTIME_DIR="$runtime" HOME="$(getent passwd "$user" | cut -d: -f6)" "$@"; }
user_socket="$runtime/podman/podman.sock"
user_answers() {
    curl -sf --max-time 5 --unix-socket "$user_socket" http://d/_ping >/dev/null 2>&1
}
if ! user_answers; then
    say "starting rootless podman system service for $user on $user_socket"
    as_user sh -c "mkdir -p '$runtime/podman' && rm -f '$user_socket' && nohup podman system service --time=0 'unix://$user_socket' >'$runtime/podman-service.log' 2>&1 &"
    for _ in $(seq 1 50); do user_answers && break; sleep 0.2; done
fi
user_answers || die "rootless Podman's API does not answer at $user_socket (see $runtime/podman-service.log)"
for image in "${IMAGES[@]}"; do
    # The same image as root's: a rebuilt one is loaded again, and the one it replaces goes.
    want="$(podman image inspect -f '{{.Id}}' "localhost/$image")"
    have="$(as_user podman image inspect -f '{{.Id}}' "localhost/$image" 2>/dev/null)"
    if [ "$have" != "$want" ]; then
        say "loading $image into $user's Podman"
        podman save "localhost/$image" | as_user podman load >&2 || die "podman load of $image for $user failed"
        [ -z "$have" ] || as_user podman rmi "$have" >/dev/null 2>&1 || true
    fi
done
say "rootless Podman answers at $user_socket for $user with the offline images"
