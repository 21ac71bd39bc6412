#!/usr/bin/env bash
# Create (idempotently) the Python venv holding the real IMDS clients used by
# the conformance tests: botocore, boto3 and ec2-metadata, pinned in
# tests/clients/requirements.txt.
#
#   venv:   ${IMDS_SPOOF_VENV:-$REPO/.venv}
#   python: ${IMDS_SPOOF_BOOTSTRAP_PYTHON:-python3} (3.9+; 3.11 on our machines)
#
# pip install is skipped when the venv's stamp file records the sha256 of the
# current requirements file (and of the venv interpreter's version). Safe to
# run concurrently (flock on a lock file in $TMPDIR).
# Progress goes to stderr; the LAST line of stdout is the venv's python path,
# so callers can do:  IMDS_SPOOF_PYTHON="$(scripts/python-env.sh | tail -n1)"
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${IMDS_SPOOF_VENV:-$REPO/.venv}"
REQ="$REPO/tests/clients/requirements.txt"
BOOT_PY="${IMDS_SPOOF_BOOTSTRAP_PYTHON:-python3}"
STAMP="$VENV/.imds-spoof-requirements.sha256"

log() { printf 'python-env: %s\n' "$*" >&2; }

command -v "$BOOT_PY" >/dev/null 2>&1 || { log "no '$BOOT_PY' on PATH"; exit 1; }
[ -f "$REQ" ] || { log "missing $REQ"; exit 1; }

"$BOOT_PY" - <<'PY' || { log "Python 3.9 or newer is required"; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 9) else 1)
PY

VENV_PY="$VENV/bin/python"

# Tests may call this script concurrently: serialise on a lock file named
# after the venv path, kept in the temp dir so nothing lands in the work tree
# (flock is in util-linux; without it we go on unlocked).
if command -v flock >/dev/null 2>&1; then
    LOCK="${TMPDIR:-/tmp}/imds-spoof-venv-$(printf '%s' "$VENV" | sha256sum | cut -c1-16).lock"
    exec 9>"$LOCK"
    flock 9
fi

# A venv whose interpreter vanished (e.g. pyenv version removed) is rebuilt.
if [ -d "$VENV" ] && ! "$VENV_PY" -c 'import sys' >/dev/null 2>&1; then
    log "venv at $VENV is broken; recreating"
    rm -rf "$VENV"
fi

if [ ! -x "$VENV_PY" ]; then
    log "creating venv at $VENV"
    "$BOOT_PY" -m venv "$VENV" >&2
fi

want="$( { cat "$REQ"; "$VENV_PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"

if [ "$want" != "$have" ]; then
    log "installing $(grep -cvE '^\s*(#|$)' "$REQ") pinned packages"
    rm -f "$STAMP"
    "$VENV_PY" -m pip install --disable-pip-version-check --no-input -q \
        -r "$REQ" >&2
    # Verify the clients import before recording success.
    "$VENV_PY" -c 'import botocore, boto3, ec2_metadata' >&2
    printf '%s\n' "$want" > "$STAMP"
else
    log "requirements unchanged; skipping pip install"
fi

printf '%s\n' "$VENV_PY"
