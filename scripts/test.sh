#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run the whole suite
# (browser tests included). Extra arguments go to pytest: scripts/test.sh -k runner
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --disable-pip-version-check -q -r requirements-dev.txt

# The browser tests drive Debian's Chromium through Playwright (playwright's own browser download
# is not used).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

ruff check .
ruff format --check .
python -m pytest "$@"
