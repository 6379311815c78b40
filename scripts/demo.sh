#!/usr/bin/env bash
# Quick start, part 1: make a virtual environment, install powergw into it and run `powergw demo`
# (two simulated nodes, a SQLite file under a data directory it prints, the dashboard on
# http://127.0.0.1:8080). Extra arguments go to `powergw demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_apt python3-venv python3-dev build-essential
ensure_venv ""
exec .venv/bin/powergw demo "$@"
