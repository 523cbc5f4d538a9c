#!/usr/bin/env bash
# ./test.sh: install what is missing, build, run the default test suites (unit + torch).
# Extra arguments go to `meson test` (e.g. ./test.sh --suite accuracy).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build
if [ $# -gt 0 ]; then
  meson test -C build --print-errorlogs "$@"
else
  meson test -C build --print-errorlogs --no-suite accuracy
fi
