# shellcheck shell=bash
# Shared by scripts/demo.sh and scripts/test.sh: install missing Debian packages and the venv.
# Debian 12 and Raspberry Pi OS refuse pip into the system Python (PEP 668), so everything
# Python goes into ./.venv.

# ensure_foreign_arch ARCH: let dpkg install ARCH packages too (e.g. i386 for the firmware's -m32
# test build). Call it before ensure_apt: a new architecture's packages are missing, so ensure_apt's
# apt-get update fetches its lists.
ensure_foreign_arch() {
    local arch="$1" sudo=""
    dpkg --print-foreign-architectures | grep -qx "$arch" && return 0
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "adding the $arch architecture to dpkg"
    $sudo dpkg --add-architecture "$arch"
}

ensure_apt() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ensure_venv EXTRA: install powergw editable with the named extra ("" for none). With "test", the
# reference cloud API (cloud_sync/server/, its own distribution) goes in too, editable, for the tests
# that run it; a gateway's venv never gets it.
# A second start skips pip when the packaging files are as they were at the last install (the
# install is editable, so code changes need none); the stamp is per extra.
ensure_venv() {
    local extra="$1" stamp want
    [ -x .venv/bin/python ] || python3 -m venv .venv
    stamp=".venv/.powergw-installed-${extra:-runtime}"
    want="$(cat setup.cfg pyproject.toml cloud_sync/server/pyproject.toml | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
    if [ -n "$extra" ]; then
        .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extra]"
    else
        .venv/bin/python -m pip install -q --disable-pip-version-check -e .
    fi
    if [ "$extra" = test ]; then
        .venv/bin/python -m pip install -q --disable-pip-version-check -e ./cloud_sync/server
    fi
    echo "$want" >"$stamp"
}
