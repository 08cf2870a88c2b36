#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run the whole suite
# (browser tests included). Extra arguments go to pytest: scripts/test.sh -k runner
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --disable-pip-version-check -q -r requirements-dev.txt

# The browser tests drive Debian's Chromium through Playwright (playwright's own browser download
# is not used); Info-ZIP's zip makes the ZIPs a Linux user uploads (UTF-8 names without the UTF-8 flag).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/zip ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium zip >/dev/null
fi

ruff check .
ruff format --check .
# The engine's and the pages' tests on two workers (pytest-xdist; one per core on the CI machine,
# TEST_WORKERS to change it), a test file per worker; then the browser tests (`e2e`) one at a time, as
# before: they time how a live page keeps up with its run, and beside another worker's training their
# 30 s waits ran out (two failed in one of three two-worker runs). The whole suite on one worker took
# 28 min on the 2-core CI machine. Arguments that select tests of one part only (-k, a file) leave the
# other part with none (pytest's exit status 5), which is fine; none selected in either part is not.
part() {
  local status=0
  python -m pytest "$@" || status=$?
  if [ "$status" -eq 5 ]; then empty=$((empty + 1)); elif [ "$status" -ne 0 ]; then exit "$status"; fi
}
empty=0
part -n "${TEST_WORKERS:-2}" --dist loadfile -m "not e2e" "$@"
part -m e2e "$@"
if [ "$empty" -eq 2 ]; then
  echo "scripts/test.sh: no test selected by: $*" >&2
  exit 5
fi
