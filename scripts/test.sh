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
# Two workers (pytest-xdist; one per core on the CI machine, TEST_WORKERS to change it), each test file
# on one worker so that a file's server and browser are started once; then the `alone` tests, which
# measure how closely the live view keeps up, with nothing else running. (The whole suite on one worker:
# 28 min on the 2-core CI machine; this way 12 to 17.) pytest's exit status 5 is "no test selected",
# as when -k picks tests of one part only.
status=0
python -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile -m "not alone" "$@" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then exit "$status"; fi
status=0
python -m pytest -m alone "$@" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then exit "$status"; fi
