#!/usr/bin/env bash
# ./quickstart.sh: install what is missing, build, and run the main job on the bundled model.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build
echo "mqcalib: built. (The quantize command arrives with the CLI work; nothing to run yet.)"
