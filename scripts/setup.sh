#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine: system packages, .venv, Azurite. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: poppler (pdftoppm) for page images, pango for WeasyPrint reports, chromium for the
# dashboard browser test, dovecot as the real IMAP server the IMAP connector is tested against.
APT_PACKAGES=(poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core chromium dovecot-imapd tesseract-ocr)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python: one virtual environment with the app, its dev tools, and the package itself (editable).
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
.venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
# checkov (Terraform policy checks) pins packaging<24, which pytest 8 cannot share: its own venv.
[ -x .venv/tools/checkov/bin/checkov ] || infra/checks/install-checkov.sh
# The int8 OCR models, made from RapidOCR's packaged ones (cached; a no-op once built).
.venv/bin/python -m shared.ocr.models >/dev/null

# Azurite (Azure Storage emulator) for the storage adapter tests.
if [ ! -x node_modules/.bin/azurite-blob ]; then
  npm install --no-audit --no-fund --silent
fi
echo "setup: done"
