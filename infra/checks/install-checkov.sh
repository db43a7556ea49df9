#!/usr/bin/env bash
# Installs checkov into its own virtual environment, .venv/tools/checkov (idempotent).
# It cannot share .venv: checkov pins packaging<24, pytest needs packaging>=24.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
TOOL_VENV=.venv/tools/checkov
if [ ! -x "$TOOL_VENV/bin/python" ]; then
  "$PYTHON" -m venv "$TOOL_VENV"
fi
"$TOOL_VENV/bin/pip" install -q --disable-pip-version-check -r infra/checks/requirements-checkov.txt
