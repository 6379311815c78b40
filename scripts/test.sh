#!/usr/bin/env bash
# Quick start, part 2: install everything the test suite needs (Debian packages such as
# Chromium, mbedtls and Mosquitto; the Python packages in a virtual environment) and run pytest,
# which also builds and runs the firmware's C unit tests on the host (tests/firmware/test_firmware_core.py).
# Before pytest, ruff checks lint and formatting (config in pyproject.toml). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_apt python3-venv python3-dev build-essential libmbedtls-dev chromium fonts-lohit-taml fonts-lohit-deva shellcheck mosquitto systemd postgresql
ensure_venv test
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
exec .venv/bin/python -m pytest "$@"
