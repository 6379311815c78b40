#!/usr/bin/env bash
# Quick start, part 2: install everything the test suite needs (Debian packages such as
# Chromium, mbedtls and Mosquitto; the Python packages in a virtual environment) and run all
# of it: the firmware's C unit tests on the host, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_apt python3-venv python3-dev build-essential libmbedtls-dev chromium shellcheck mosquitto systemd postgresql
ensure_venv test
if [ -f firmware/Makefile ]; then
    make -s -C firmware test
fi
exec .venv/bin/python -m pytest "$@"
