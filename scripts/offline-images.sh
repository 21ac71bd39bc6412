#!/usr/bin/env bash
# Builds the two Docker images imds-spoof's tests (and firewalled users) need, without any
# container registry: everything comes from the host and from Debian packages.
#
#   imds-spoof/nginx-offline:latest   proxy image (label imds-spoof.image=proxy): Debian's nginx
#       binary, the shared libraries `ldd` names, the dynamic loader, a minimal /etc and nginx's
#       runtime dirs, FROM scratch; and Debian's stream module (libnginx-mod-stream, loaded by
#       /etc/nginx/modules-enabled/50-mod-stream.conf), which imds-spoof's nginx.conf uses to
#       answer nginx's own errors as EC2 (the official image has it built in). Behaves like the official nginx image for imds-spoof: config at
#       /etc/nginx/nginx.conf, CMD ["nginx","-g","daemon off;"], logs on stdout/stderr. Unlike
#       the official image it stops on SIGTERM (nginx's fast shutdown; `docker import` cannot set
#       STOPSIGNAL on engine 20.10), which drops long-polling requests at once instead of
#       waiting for them. Use it with `imds-spoof --proxy-image imds-spoof/nginx-offline:latest` or
#       `[proxy] image = "imds-spoof/nginx-offline:latest"`.
#
#   imds-spoof/client-offline:latest  test client (label imds-spoof.image=client): FROM scratch
#       with a minimal /etc and the host's merged-usr symlinks (/bin -> usr/bin, ...). It holds no
#       programs: run it with the host's /usr (and a Python prefix outside /usr, and a venv)
#       bind-mounted read-only, so the host's curl and Python work inside. The image mirrors this
#       host's layout, so build it on the machine that runs it.
#
#       mapfile -t MOUNTS < <(scripts/offline-images.sh --print-client-mounts [VENV_DIR])
#       docker run --rm --network imds-spoof "${MOUNTS[@]}" imds-spoof/client-offline:latest \
#           curl -s http://169.254.169.254/latest/meta-data/
#       docker run --rm "${MOUNTS[@]}" imds-spoof/client-offline:latest VENV_DIR/bin/python t.py
#
#     On this project's machines (Debian 12, merged /usr, pyenv Python) the mounts are
#       --volume=/usr:/usr:ro
#       --volume=/root/.pyenv/versions/3.11.7:/root/.pyenv/versions/3.11.7:ro
#     plus --volume=VENV:VENV:ro for a venv; --print-client-mounts deduces them at run time.
#
# With --engine podman the same images are built into Podman's store instead (rootful as root,
# the caller's own store when run as a rootless user); Podman names them
# localhost/imds-spoof/nginx-offline:latest and localhost/imds-spoof/client-offline:latest.
#
# Needs: docker (or podman); for the nginx image apt-get + dpkg (Debian/Ubuntu) or --debs DIR holding the
# nginx .deb files; ldd. Nothing is installed on the host except curl (when missing, as root).
# Idempotent: an image that exists is kept unless --force, or unless it is an nginx image from
# before the stream module (no label imds-spoof.proxy-modules=stream), which is rebuilt.
set -euo pipefail

NGINX_IMAGE=imds-spoof/nginx-offline:latest
# Label of nginx images that carry the modules imds-spoof's nginx.conf needs.
NGINX_MODULES_LABEL=imds-spoof.proxy-modules
CLIENT_IMAGE=imds-spoof/client-offline:latest

usage() {
  cat <<'EOF'
Usage: scripts/offline-images.sh [options]
       scripts/offline-images.sh --print-client-mounts [VENV_DIR]

Builds imds-spoof/nginx-offline:latest and imds-spoof/client-offline:latest without a
container registry, then checks that both run.

Options:
  --force          rebuild images that already exist
  --only WHICH     build only "nginx" or "client"
  --debs DIR       take nginx*.deb from DIR instead of `apt-get download` (fully offline)
  --venv DIR       also check that DIR/bin/python runs in the client image
  --engine ENGINE  docker (the default) or podman: build into that engine's image store;
                   Podman names them localhost/imds-spoof/... (rootless: the calling
                   user's store)
  --no-verify      skip the run checks
  --print-client-mounts [VENV_DIR]
                   print the docker run volume arguments the client image needs, one per
                   line (/usr, real /bin /sbin /lib* dirs, python3's prefix when outside
                   /usr, VENV_DIR and its base Python), and exit
  -h, --help       this help
EOF
}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'offline-images.sh: error: %s\n' "$*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

force=0 only="" debs_dir="" venv="" verify=1 print_mounts=0 ENGINE=docker
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --only) only="${2:?--only needs nginx or client}"; shift ;;
    --debs) debs_dir="${2:?--debs needs a directory}"; shift ;;
    --venv) venv="${2:?--venv needs a directory}"; shift ;;
    --engine) ENGINE="${2:?--engine needs docker or podman}"; shift ;;
    --no-verify) verify=0 ;;
    --print-client-mounts)
      print_mounts=1
      if [ $# -gt 1 ] && [ "${2#-}" = "$2" ]; then venv="$2"; shift; fi ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
case "$only" in ""|nginx|client) ;; *) die "--only takes nginx or client, not '$only'" ;; esac
case "$ENGINE" in docker|podman) ;; *) die "--engine takes docker or podman, not '$ENGINE'" ;; esac
if [ -n "$venv" ]; then
  venv=$(cd "$venv" 2>/dev/null && pwd -P) || die "no venv directory at $venv"
fi

under_usr() { case "$1" in /usr|/usr/*) return 0 ;; *) return 1 ;; esac; }

# The --volume arguments the client image needs on this host, one per line.
client_mounts() {
  local seen=" " d target prefix home
  add() { case "$seen" in *" $1 "*) return 0 ;; esac; seen="$seen$1 "; echo "--volume=$1:$1:ro"; }
  add /usr
  for d in /bin /sbin /lib /lib32 /lib64 /libx32; do
    if [ -L "$d" ]; then
      # merged /usr: the image carries the same symlink; a link elsewhere gets its target.
      target=$(readlink -f "$d")
      under_usr "$target" || echo "--volume=$target:$d:ro"
    elif [ -d "$d" ]; then
      add "$d"
    fi
  done
  if command -v python3 >/dev/null 2>&1; then
    prefix=$(python3 -c 'import sys; print(sys.base_prefix)' 2>/dev/null || true)
    [ -n "$prefix" ] && ! under_usr "$prefix" && add "$prefix"
  fi
  if [ -n "$venv" ]; then
    [ -f "$venv/pyvenv.cfg" ] || die "$venv is not a venv (no pyvenv.cfg)"
    add "$venv"
    home=$(sed -n 's/^home *= *//p' "$venv/pyvenv.cfg" | head -n 1)
    if [ -n "$home" ]; then
      prefix=$(dirname "$(readlink -f "$home")")
      under_usr "$prefix" || add "$prefix"
    fi
  fi
  return 0
}

if [ "$print_mounts" = 1 ]; then
  client_mounts
  exit 0
fi

command -v "$ENGINE" >/dev/null || die "$ENGINE is not installed"
if [ "$ENGINE" = docker ]; then
  docker info >/dev/null 2>&1 || die "cannot talk to the Docker engine (is it running? are you in the docker group?)"
else
  podman info >/dev/null 2>&1 || die "podman cannot run here (podman info fails: see its error)"
fi

image_exists() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# import_rootfs TAG DIR [--change ...]: the image a `FROM scratch` + `COPY DIR/ /` Dockerfile
# would give, made with `docker import`: one layer, no builder (the legacy builder is deprecated
# and BuildKit needs buildx, which firewalled hosts often lack), and ~0.1 s instead of ~1 s per
# Dockerfile instruction. Files are owned by root as COPY would make them.
import_rootfs() {
  local tag="$1" dir="$2" old
  shift 2
  old=$("$ENGINE" image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  tar -C "$dir" --owner=0 --group=0 --numeric-owner -cf - . |
    "$ENGINE" import "$@" --message "built by scripts/offline-images.sh" - "$tag" >/dev/null
  # --force: drop the image this one replaced, unless a container still uses it.
  [ -z "$old" ] || docker rmi "$old" >/dev/null 2>&1 || true
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/imds-spoof-images.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- nginx image
apt_download() {
  # Downloads the named packages into the current directory; refreshes the lists once as root.
  local opts=()
  [ "$(id -u)" = 0 ] && opts=(-o APT::Sandbox::User=root) # _apt cannot write our 0700 temp dir
  if ! apt-get "${opts[@]}" -q download "$@" >&2; then
    [ "$(id -u)" = 0 ] || die "apt-get download $* failed; run 'sudo apt-get update' or use --debs DIR"
    say "apt-get download failed; running apt-get update and retrying"
    apt-get -q update >&2
    apt-get "${opts[@]}" -q download "$@" >&2
  fi
}

copy_file() { # copy_file SRC DEST_IN_ROOTFS: follows symlinks, keeps the path
  mkdir -p "$(dirname "$2")"
  cp -L "$1" "$2"
}

nginx_image_current() {
  [ "$("$ENGINE" image inspect -f "{{index .Config.Labels \"$NGINX_MODULES_LABEL\"}}" "$NGINX_IMAGE" 2>/dev/null)" = stream ]
}

build_nginx() {
  if image_exists "$NGINX_IMAGE" && [ "$force" = 0 ]; then
    if nginx_image_current; then
      say "$NGINX_IMAGE exists; keeping it (--force rebuilds)"
      return
    fi
    say "$NGINX_IMAGE predates the stream module; rebuilding it"
  fi
  local start debs="$tmp/debs" x="$tmp/nginx-pkg" root="$tmp/nginx-rootfs" lib dest missing deb
  start=$(now)
  mkdir -p "$debs" "$x" "$root"
  if [ -n "$debs_dir" ]; then
    say "using nginx packages from $debs_dir"
    cp "$debs_dir"/nginx*.deb "$debs"/ 2>/dev/null || die "no nginx*.deb in $debs_dir"
    cp "$debs_dir"/libnginx-mod-stream*.deb "$debs"/ 2>/dev/null ||
      die "no libnginx-mod-stream*.deb in $debs_dir"
  else
    command -v apt-get >/dev/null || die "apt-get not found: pass --debs DIR with Debian/Ubuntu nginx .deb files"
    say "downloading Debian's nginx, nginx-common and libnginx-mod-stream (apt-get download; nothing is installed)"
    (cd "$debs" && apt_download nginx nginx-common libnginx-mod-stream)
  fi
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$x"; done
  if [ ! -x "$x/usr/sbin/nginx" ] && [ -z "$debs_dir" ]; then
    say "the nginx package holds no binary here (older Ubuntu); fetching nginx-core"
    (cd "$debs" && apt_download nginx-core) && dpkg -x "$debs"/nginx-core_*.deb "$x"
  fi
  [ -x "$x/usr/sbin/nginx" ] || die "no usr/sbin/nginx in the nginx packages"
  say "nginx: $("$x/usr/sbin/nginx" -v 2>&1 | sed 's/^nginx version: //')"

  copy_file "$x/usr/sbin/nginx" "$root/usr/sbin/nginx"
  local stream_so
  stream_so=$(find "$x/usr/lib/nginx/modules" -name ngx_stream_module.so 2>/dev/null | head -n 1)
  [ -n "$stream_so" ] || die "no ngx_stream_module.so in libnginx-mod-stream"
  copy_file "$stream_so" "$root/usr/lib/nginx/modules/ngx_stream_module.so"

  # Shared libraries and loader, at the paths ldd names. Libraries the host lacks come from
  # their Debian packages (the nginx package's Depends), extracted next to the others; libc
  # always comes from the host, as it must match the host's loader that ldd names.
  local libdirs="" ldd_out
  ldd_out=$(ldd "$x/usr/sbin/nginx")
  if grep -q 'not found' <<<"$ldd_out"; then
    missing=$(awk '/not found/ { print $1 }' <<<"$ldd_out" | tr '\n' ' ')
    [ -z "$debs_dir" ] || die "the host lacks $missing; install them or add their .debs to $debs_dir"
    say "host lacks $missing; fetching nginx's library packages"
    local deps
    deps=$(dpkg-deb -f "$debs"/nginx_*.deb Depends | tr ',' '\n' | sed 's/^ *//; s/[ (].*//' |
      grep -E '^lib|^zlib' | grep -vx libc6 | sort -u)
    mkdir -p "$tmp/libdebs" "$tmp/libs"
    # shellcheck disable=SC2086
    (cd "$tmp/libdebs" && apt_download $deps)
    for deb in "$tmp/libdebs"/*.deb; do dpkg -x "$deb" "$tmp/libs"; done
    libdirs=$(find "$tmp/libs" -name 'lib*.so*' -printf '%h\n' | sort -u | tr '\n' ':')
    ldd_out=$(LD_LIBRARY_PATH="$libdirs" ldd "$x/usr/sbin/nginx")
    ! grep -q 'not found' <<<"$ldd_out" || die "still missing libraries: $ldd_out"
  fi
  while read -r lib; do
    dest="${lib#"$tmp/libs"}"
    copy_file "$lib" "$root$dest"
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' <<<"$ldd_out")
  # glibc before 2.34 loads passwd/group lookups from libnss_files; later ones have it built in.
  for lib in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2 \
             /lib/aarch64-linux-gnu/libnss_files.so.2 /lib/aarch64-linux-gnu/libnss_dns.so.2; do
    [ -e "$lib" ] && copy_file "$lib" "$root$lib"
  done

  # /etc: users nginx may switch to (no `user` directive as root means nobody:nogroup).
  mkdir -p "$root/etc"
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nginx:x:101:101:nginx:/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
www-data:x:33:
nginx:x:101:
nogroup:x:65534:
EOF
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"

  # /etc/nginx: Debian's mime.types and *_params, and a default config like the official
  # image's (imds-spoof replaces nginx.conf with its own before starting the container).
  cp -a "$x/etc/nginx" "$root/etc/nginx"
  rm -rf "$root/etc/nginx/sites-available" "$root/etc/nginx/sites-enabled" \
    "$root/etc/nginx/modules-available" "$root/etc/nginx/modules-enabled" "$root/etc/nginx/snippets"
  mkdir -p "$root/etc/nginx/conf.d" "$root/etc/nginx/modules-enabled"
  echo 'load_module /usr/lib/nginx/modules/ngx_stream_module.so;' \
    >"$root/etc/nginx/modules-enabled/50-mod-stream.conf"
  cat >"$root/etc/nginx/nginx.conf" <<'EOF'
# Default configuration of imds-spoof/nginx-offline (imds-spoof uploads its own).
user nginx;
worker_processes auto;
error_log stderr notice;
include /etc/nginx/modules-enabled/*.conf;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log;
    sendfile on;
    keepalive_timeout 65;
    include /etc/nginx/conf.d/*.conf;
}
EOF
  cat >"$root/etc/nginx/conf.d/default.conf" <<'EOF'
server {
    listen 80;
    server_name localhost;
    location / {
        root /usr/share/nginx/html;
        index index.html;
    }
}
EOF
  mkdir -p "$root/usr/share/nginx"
  cp -a "$x/usr/share/nginx/html" "$root/usr/share/nginx/html"

  # Runtime dirs: Debian's compiled-in temp paths, the official image's, pid and lock dirs.
  mkdir -p "$root/var/log/nginx" "$root/var/cache/nginx" "$root/run/lock" "$root/tmp" "$root/root"
  for d in body proxy fastcgi uwsgi scgi; do mkdir -p "$root/var/lib/nginx/$d"; done
  ln -s /dev/stdout "$root/var/log/nginx/access.log"
  ln -s /dev/stderr "$root/var/log/nginx/error.log"
  ln -s ../run "$root/var/run"
  ln -s ../run/lock "$root/var/lock"
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"

  say "importing $NGINX_IMAGE (FROM scratch equivalent, $(du -sh "$root" | cut -f1) of files)"
  import_rootfs "$NGINX_IMAGE" "$root" \
    --change "ENV PATH=$IMAGE_PATH" \
    --change 'LABEL imds-spoof.image=proxy' \
    --change "LABEL $NGINX_MODULES_LABEL=stream" \
    --change 'EXPOSE 80' \
    --change 'CMD ["nginx", "-g", "daemon off;"]'
  say "built $NGINX_IMAGE in $(elapsed "$start") s ($(image_size "$NGINX_IMAGE"))"
}

image_size() {
  "$ENGINE" image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1000000 }'
}

verify_nginx() {
  say "checking $NGINX_IMAGE: nginx -t with its default config"
  "$ENGINE" run --rm --network none "$NGINX_IMAGE" nginx -t 2>&1 | sed 's/^/    /' >&2
}

# ---------------------------------------------------------------- client image
ensure_curl() {
  command -v curl >/dev/null && return
  [ "$(id -u)" = 0 ] || die "curl is missing on the host; install it (sudo apt-get install -y curl)"
  say "installing curl on the host (the client image runs the host's curl)"
  apt-get install -y -q --no-install-recommends curl >&2 ||
    { apt-get -q update >&2 && apt-get install -y -q --no-install-recommends curl >&2; }
}

build_client() {
  ensure_curl
  if image_exists "$CLIENT_IMAGE" && [ "$force" = 0 ]; then
    say "$CLIENT_IMAGE exists; keeping it (--force rebuilds)"
    return
  fi
  local start root="$tmp/client-rootfs" d
  start=$(now)
  mkdir -p "$root/etc" "$root/tmp" "$root/var/tmp" "$root/root"
  # The host's merged-usr links (/bin -> usr/bin, ...), so /usr mounted alone serves them.
  for d in bin sbin lib lib32 lib64 libx32; do
    if [ -L "/$d" ] && under_usr "$(readlink -f "/$d")"; then
      ln -s "$(readlink "/$d")" "$root/$d"
    fi
  done
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n' >"$root/etc/hosts" # docker replaces hosts and resolv.conf
  : >"$root/etc/resolv.conf"
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0700 "$root/root"
  say "importing $CLIENT_IMAGE (FROM scratch equivalent; programs come from the host's /usr at run time)"
  import_rootfs "$CLIENT_IMAGE" "$root" \
    --change "ENV PATH=$IMAGE_PATH HOME=/root" \
    --change 'LABEL imds-spoof.image=client' \
    --change 'CMD ["/bin/sh"]'
  say "built $CLIENT_IMAGE in $(elapsed "$start") s ($(image_size "$CLIENT_IMAGE"))"
}

verify_client() {
  local mounts py
  mapfile -t mounts < <(client_mounts)
  say "client mounts: ${mounts[*]}"
  say "checking $CLIENT_IMAGE: curl --version"
  "$ENGINE" run --rm --network none "${mounts[@]}" "$CLIENT_IMAGE" curl --version | head -n 1 |
    sed 's/^/    /' >&2
  if [ -x /usr/bin/python3 ]; then
    say "checking $CLIENT_IMAGE: python3 -c 'print(1)' (/usr/bin/python3)"
    [ "$("$ENGINE" run --rm --network none "${mounts[@]}" "$CLIENT_IMAGE" python3 -c 'print(1)')" = 1 ] ||
      die "python3 does not run in $CLIENT_IMAGE"
  fi
  if command -v python3 >/dev/null; then
    py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
    say "checking $CLIENT_IMAGE: $py -c 'print(1)' (the host's python3)"
    [ "$("$ENGINE" run --rm --network none "${mounts[@]}" "$CLIENT_IMAGE" "$py" -c 'print(1)')" = 1 ] ||
      die "$py does not run in $CLIENT_IMAGE"
  fi
  if [ -n "$venv" ]; then
    say "checking $CLIENT_IMAGE: $venv/bin/python"
    "$ENGINE" run --rm --network none "${mounts[@]}" "$CLIENT_IMAGE" "$venv/bin/python" \
      -c 'import sys; print("    venv python", sys.version.split()[0], sys.prefix)' >&2
  fi
}

total=$(now)
if [ "$only" != client ]; then
  build_nginx
  [ "$verify" = 0 ] || verify_nginx
fi
if [ "$only" != nginx ]; then
  build_client
  [ "$verify" = 0 ] || verify_client
fi
say "done in $(elapsed "$total") s"
