#!/usr/bin/env bash
# Install, upgrade or remove powergw on Raspberry Pi OS Bookworm (64-bit) or Debian 12 (amd64).
#
#   sudo deploy/install.sh                 install, or upgrade in place (migrations included)
#   sudo deploy/install.sh --uninstall     remove it; keep /etc/powergw and /var/lib/powergw
#   sudo deploy/install.sh --uninstall --purge   ... and the data, the config and the user
#
# What it lays down (paths under --root, default /):
#   /opt/powergw/venv/                     the virtual environment (powergw[mqtt] from this tree)
#   /opt/powergw/install-manifest          every file below, for --uninstall
#   /usr/local/bin/powergw                 -> /opt/powergw/venv/bin/powergw
#   /etc/powergw/config.toml               created from the example once, never overwritten
#   /etc/powergw/config.example.toml       refreshed on every run: diff it after an upgrade
#   /etc/systemd/system/powergw{,-ui,-metrics,-mqtt}.service
#   /etc/udev/rules.d/99-powergw.rules     /dev/powergw/<chip>-<serial> for ESP32 USB bridges
#   /etc/systemd/journald.conf.d/powergw-volatile.conf   journal in RAM (not with --persistent-logs)
#   /var/lib/powergw/, /var/lib/powergw/backups/          data, owned by the powergw user
#
# --root DIR lays the files down under DIR and touches nothing else (no apt, no user, no
# systemctl): that is how the test suite checks every file. --dry-run prints what would run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE="$(dirname "$HERE")"
ROOT=""
DRY_RUN=0
DO_APT=1
DO_PIP=1
DO_SYSTEM=1
DO_START=1
UNINSTALL=0
PURGE=0
VOLATILE_LOGS=1
ENABLE_MQTT=0
PYTHON="${PYTHON:-python3}"
SERVICE_USER=powergw
UNITS=(powergw.service powergw-ui.service powergw-metrics.service powergw-mqtt.service)
# Enabled and started on every install and upgrade; MQTT only with --enable-mqtt.
ENABLED_UNITS=(powergw.service powergw-ui.service powergw-metrics.service)

usage() {
    cat <<EOF
usage: $0 [options]

  --root DIR          install under DIR instead of / (implies --no-apt and --no-system)
  --source DIR        the powergw source tree to install (default: $SOURCE)
  --dry-run           print every action instead of doing it
  --no-apt            do not install Debian packages
  --no-pip            do not create or update the virtual environment
  --no-system         no user, ownership, systemctl or udevadm (files only)
  --no-start          install and enable the services but do not (re)start them
  --persistent-logs   keep the journal on disk (default: in RAM, to spare the SD card)
  --enable-mqtt       also enable powergw-mqtt.service (set [mqtt] enabled = true first)
  --uninstall         remove powergw; keeps /etc/powergw and /var/lib/powergw
  --purge             with --uninstall: also remove the data, the config and the user
  -h, --help          this help
EOF
}

die() { echo "install.sh: error: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

# run CMD...: do it, or print it with --dry-run.
run() {
    if [ "$DRY_RUN" -eq 1 ]; then
        printf '+'; printf ' %q' "$@"; printf '\n'
    else
        "$@"
    fi
}

# system CMD...: a change to the running system (user, systemctl, udevadm), skipped with --no-system.
system() {
    if [ "$DO_SYSTEM" -eq 1 ]; then
        run "$@"
    else
        printf 'skipped (no system changes):'; printf ' %q' "$@"; printf '\n'
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT="${2%/}"; shift ;;
        --root=*) ROOT="${1#--root=}"; ROOT="${ROOT%/}" ;;
        --source) [ $# -ge 2 ] || die "--source needs a directory"; SOURCE="$2"; shift ;;
        --dry-run) DRY_RUN=1 ;;
        --no-apt) DO_APT=0 ;;
        --no-pip) DO_PIP=0 ;;
        --no-system) DO_SYSTEM=0 ;;
        --no-start) DO_START=0 ;;
        --persistent-logs) VOLATILE_LOGS=0 ;;
        --enable-mqtt) ENABLE_MQTT=1 ;;
        --uninstall) UNINSTALL=1 ;;
        --purge) PURGE=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option $1" ;;
    esac
    shift
done

[ "$PURGE" -eq 0 ] || [ "$UNINSTALL" -eq 1 ] || die "--purge only goes with --uninstall"
if [ -n "$ROOT" ]; then
    [ -d "$ROOT" ] || die "--root $ROOT: no such directory"
    ROOT="$(cd "$ROOT" && pwd)"
    [ "$ROOT" != "/" ] || ROOT=""
fi
if [ -n "$ROOT" ]; then
    DO_APT=0
    DO_SYSTEM=0
elif [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo $0), or give --root DIR to lay the files down elsewhere"
fi

OPT="$ROOT/opt/powergw"
VENV="$OPT/venv"
ETC="$ROOT/etc/powergw"
DATA="$ROOT/var/lib/powergw"
UNIT_DIR="$ROOT/etc/systemd/system"
UDEV_RULE="$ROOT/etc/udev/rules.d/99-powergw.rules"
JOURNALD_DROPIN="$ROOT/etc/systemd/journald.conf.d/powergw-volatile.conf"
BIN_LINK="$ROOT/usr/local/bin/powergw"
MANIFEST="$OPT/install-manifest"

# ---- checks ---------------------------------------------------------------------------------

check_platform() {
    local id="" version="" arch
    if [ -r /etc/os-release ]; then
        # shellcheck disable=SC1091
        id="$(. /etc/os-release && echo "${ID:-}")"
        # shellcheck disable=SC1091
        version="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    fi
    arch="$(uname -m)"
    case "$id/$version" in
        debian/bookworm|raspbian/bookworm) ;;
        *) say "warning: tested on Debian 12 / Raspberry Pi OS Bookworm; this is ${id:-unknown}/${version:-unknown}" ;;
    esac
    case "$arch" in
        aarch64|x86_64) ;;
        armv7l|armv6l) [ "$DO_PIP" -eq 0 ] || die "32-bit $arch: onnxruntime has no wheels for it; install the 64-bit Raspberry Pi OS" ;;
        *) say "warning: untested architecture $arch" ;;
    esac
}

# ---- install --------------------------------------------------------------------------------

install_apt() {
    [ "$DO_APT" -eq 1 ] || { say "skipping Debian packages (--no-apt)"; return 0; }
    local pkgs=(python3 python3-venv python3-dev build-essential bluez sqlite3 ca-certificates)
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
}

ensure_user() {
    if [ "$DO_SYSTEM" -eq 0 ]; then
        say "skipped (no system changes): system user $SERVICE_USER in groups dialout, bluetooth"
        return 0
    fi
    if ! getent passwd "$SERVICE_USER" >/dev/null 2>&1; then
        run useradd --system --user-group --home-dir /var/lib/powergw --no-create-home \
            --shell /usr/sbin/nologin --comment "powergw energy gateway" "$SERVICE_USER"
    fi
    local group
    for group in dialout bluetooth; do
        if getent group "$group" >/dev/null 2>&1; then
            run usermod -a -G "$group" "$SERVICE_USER"
        else
            say "group $group does not exist (is bluez installed?); $SERVICE_USER not added to it"
        fi
    done
}

FILES=()

# put SRC DEST MODE: copy one file, record it in the manifest.
put() {
    run install -D -m "$3" "$1" "$2"
    FILES+=("${2#"$ROOT"}")
}

owned_dir() { # owned_dir DIR MODE OWNER:GROUP
    run install -d -m "$2" "$1"
    if [ "$DO_SYSTEM" -eq 1 ]; then run chown "$3" "$1"; fi
}

install_venv() {
    [ "$DO_PIP" -eq 1 ] || { say "skipping the virtual environment (--no-pip)"; return 0; }
    [ -f "$SOURCE/setup.cfg" ] || die "--source $SOURCE is not a powergw source tree (no setup.cfg)"
    if [ ! -x "$VENV/bin/python" ]; then
        run "$PYTHON" -m venv "$VENV"
    fi
    run "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    # Not editable: /opt/powergw must not depend on the checkout it was installed from.
    run "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade "${SOURCE}[mqtt]"
}

install_files() {
    run install -d -m 0755 "$OPT" "$ROOT/usr/local/bin" "$UNIT_DIR"
    owned_dir "$ETC" 0750 "root:$SERVICE_USER"
    owned_dir "$DATA" 0750 "$SERVICE_USER:$SERVICE_USER"
    owned_dir "$DATA/backups" 0750 "$SERVICE_USER:$SERVICE_USER"

    local unit
    for unit in "${UNITS[@]}"; do
        put "$HERE/systemd/$unit" "$UNIT_DIR/$unit" 0644
    done
    put "$HERE/udev/99-powergw.rules" "$UDEV_RULE" 0644
    if [ "$VOLATILE_LOGS" -eq 1 ]; then
        put "$HERE/journald/powergw-volatile.conf" "$JOURNALD_DROPIN" 0644
    elif [ -e "$JOURNALD_DROPIN" ]; then
        run rm -f "$JOURNALD_DROPIN"
    fi
    put "$HERE/config.example.toml" "$ETC/config.example.toml" 0644
    if [ -e "$ETC/config.toml" ]; then
        say "keeping your $ETC/config.toml (compare it with config.example.toml for new keys)"
    else
        run install -m 0640 "$HERE/config.example.toml" "$ETC/config.toml"
        # An installed gateway's dashboard is for the household's phones: listen on the LAN (it
        # needs a login; there is no default password). `powergw ui` run by hand stays on loopback.
        if [ "$DRY_RUN" -eq 0 ]; then
            awk '/^\[/ { section = $0 } section == "[ui]" && $0 == "# host = \"127.0.0.1\"" { print "host = \"0.0.0.0\""; next } { print }' \
                "$HERE/config.example.toml" > "$ETC/config.toml"
        fi
        if [ "$DO_SYSTEM" -eq 1 ]; then run chown "root:$SERVICE_USER" "$ETC/config.toml"; fi
    fi
    run ln -sfn /opt/powergw/venv/bin/powergw "$BIN_LINK"
    FILES+=("${BIN_LINK#"$ROOT"}")
    if [ "$DRY_RUN" -eq 0 ]; then
        printf '%s\n' "${FILES[@]}" > "$MANIFEST"
    fi
}

# as_service CMD...: run a powergw command as the service user (migrations, backups).
as_service() {
    if [ "$DO_SYSTEM" -eq 1 ] && [ "$DO_PIP" -eq 1 ]; then
        run runuser -u "$SERVICE_USER" -- "$VENV/bin/powergw" "$@"
    else
        printf 'skipped (no system changes or no venv): powergw'; printf ' %q' "$@"; printf '\n'
    fi
}

was_active() { [ "$DO_SYSTEM" -eq 1 ] && systemctl is-active --quiet powergw.service 2>/dev/null; }

do_install() {
    check_platform
    install_apt
    ensure_user
    local upgrading=0
    [ -e "$MANIFEST" ] && upgrading=1
    if was_active; then
        system systemctl stop powergw-mqtt.service powergw-metrics.service powergw-ui.service powergw.service
    fi
    if [ "$upgrading" -eq 1 ] && [ -e "$DATA/powergw.db" ]; then
        say "upgrading: backing up the database first"
        as_service backup --force --config /etc/powergw/config.toml
    fi
    install_venv
    install_files
    as_service config check /etc/powergw/config.toml
    as_service migrate --config /etc/powergw/config.toml
    system systemctl daemon-reload
    system udevadm control --reload-rules
    system udevadm trigger --subsystem-match=tty --action=add
    if [ "$VOLATILE_LOGS" -eq 1 ]; then system systemctl restart systemd-journald.service; fi
    system systemctl enable "${ENABLED_UNITS[@]}"
    if [ "$ENABLE_MQTT" -eq 1 ]; then system systemctl enable powergw-mqtt.service; fi
    if [ "$DO_START" -eq 1 ]; then
        system systemctl restart "${ENABLED_UNITS[@]}"
        if [ "$ENABLE_MQTT" -eq 1 ]; then system systemctl restart powergw-mqtt.service; fi
    fi
    say "$([ "$upgrading" -eq 1 ] && echo upgraded || echo installed) powergw under ${ROOT:-/}"
    cat <<EOF

Next:
  1. plug in a node, then list its stable name:   ls -l /dev/powergw/
  2. put it in [serial] ports:                     sudoedit /etc/powergw/config.toml
  3. apply and check:                              sudo systemctl restart powergw && powergw doctor
  Logs: journalctl -u powergw -f     Dashboard: http://<this Pi>:8080 on the LAN ([ui] host/port in the config)
  Metrics: powergw-metrics.service, /metrics on [metrics] host/port (default 0.0.0.0:9101)
EOF
}

# ---- uninstall ------------------------------------------------------------------------------

do_uninstall() {
    local unit path
    for unit in "${UNITS[@]}"; do
        if [ -e "$UNIT_DIR/$unit" ]; then
            system systemctl disable --now "$unit"
        fi
    done
    if [ -e "$MANIFEST" ]; then
        while IFS= read -r path; do
            [ -n "$path" ] || continue
            case "$path" in
                /etc/powergw/config.toml) continue ;;  # never listed, but never removed by accident either
            esac
            if [ -e "$ROOT$path" ] || [ -L "$ROOT$path" ]; then run rm -f "$ROOT$path"; fi
        done < "$MANIFEST"
    else
        say "no install manifest in $OPT; removing the known files"
        for path in "${UNITS[@]/#/$UNIT_DIR/}" "$UDEV_RULE" "$JOURNALD_DROPIN" "$BIN_LINK" "$ETC/config.example.toml"; do
            if [ -e "$path" ] || [ -L "$path" ]; then run rm -f "$path"; fi
        done
    fi
    run rm -rf "$OPT"
    path="$ROOT/etc/systemd/journald.conf.d"
    if [ -d "$path" ]; then run rmdir --ignore-fail-on-non-empty "$path"; fi
    system systemctl daemon-reload
    system udevadm control --reload-rules
    if [ "$VOLATILE_LOGS" -eq 1 ]; then system systemctl restart systemd-journald.service; fi
    if [ "$PURGE" -eq 1 ]; then
        run rm -rf "$DATA" "$ETC"
        if getent passwd "$SERVICE_USER" >/dev/null 2>&1; then system userdel "$SERVICE_USER"; fi
        say "removed powergw, its data, its config and its user"
    else
        say "removed powergw; kept your data in $DATA and config in $ETC (--purge removes them)"
    fi
}

if [ "$UNINSTALL" -eq 1 ]; then
    do_uninstall
else
    do_install
fi
