#!/usr/bin/env bash
# The whole suite: lint, types, then pytest with Azurite running (started here, stopped after).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/mypy
started_azurite=""
if ! (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null; then
  scripts/azurite.sh
  started_azurite=1
fi
cleanup() { [ -n "$started_azurite" ] && [ -f .azurite/pid ] && kill "$(cat .azurite/pid)" 2>/dev/null || true; }
trap cleanup EXIT
.venv/bin/pytest "$@"
