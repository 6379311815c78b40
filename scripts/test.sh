#!/usr/bin/env bash
# Quick start, part 2: install everything the test suite needs (Debian packages such as
# Chromium, mbedtls and Mosquitto; the Python packages in a virtual environment) and run pytest,
# which also builds and runs the firmware's C unit tests on the host, plain, sanitized and -m32
# (tests/firmware/test_firmware_core.py).
# Before pytest, ruff checks lint and formatting (config in pyproject.toml). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
# gcc-multilib and libmbedtls-dev:i386 build the firmware's C tests for 32 bits (make -C firmware test32).
ensure_foreign_arch i386
ensure_apt python3-venv python3-dev build-essential libmbedtls-dev chromium fonts-lohit-taml fonts-lohit-deva shellcheck mosquitto systemd postgresql \
    gcc-multilib libmbedtls-dev:i386
ensure_venv test
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
exec .venv/bin/python -m pytest "$@"
