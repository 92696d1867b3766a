#!/usr/bin/env bash
# Every check costscope has: installs what the tests need (Debian packages, the venv), then
# ruff format, ruff lint, mypy, import-linter (the layering) and pytest. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# binary -> Debian package; the real servers and the browser the tests start themselves
declare -A PACKAGES=(
  [prometheus]=prometheus [promtool]=prometheus [victoria-metrics]=victoria-metrics
  [prometheus-pushgateway]=prometheus-pushgateway
  [prometheus-node-exporter]=prometheus-node-exporter [chromium]=chromium
  [chromedriver]=chromium-driver [openssl]=openssl
)
missing=()
for bin in "${!PACKAGES[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${PACKAGES[$bin]}")
done
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
# the compiled exposition splitter (costscope/sources/_plain_lines.c): without them it is skipped
# at install and the tests that compare it with the Python one fail under CI
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
[ -e /usr/include/stdlib.h ] || missing+=(libc6-dev)
python3 -c "import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" \
  || missing+=(python3-dev)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing Debian packages: $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')"
  $sudo apt-get update -qq
  # policy-rc.d 101: the packages must not start their services; the tests start their own
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'

echo "== ruff format"; .venv/bin/ruff format --check .
echo "== ruff check";  .venv/bin/ruff check .
echo "== mypy";        .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== pytest";      .venv/bin/python -m pytest -q "$@"
