#!/usr/bin/env bash
# The unit suite built with AddressSanitizer + UndefinedBehaviorSanitizer (gcc) and run; any report
# fails. Only the 'unit' suite: the 'torch' suite (LibTorch) is excluded, because LibTorch's
# uninstrumented libraries report leaks of their own registries and OpenMP runtime under LSan and
# make ASan runs several times slower (docs/reliability.md). Built at -O1, ASan's usual level: a file
# compiles ~3x faster than at -O3 (docs/reliability.md gives the figures); the FMA kernels keep -O3
# (src/exec/meson.build). Usage: .ci/sanitize.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build-asan}"
[ -d "$dir" ] || meson setup "$dir" -Db_sanitize=address,undefined --optimization=1 >/dev/null
ninja -C "$dir" build.ninja >/dev/null  # regenerate first if meson.build changed: the target list is read from it
mapfile -t outs < <(/usr/bin/python3 .ci/unit_targets.py "$dir" unit)
echo "sanitize: building ${#outs[@]} unit-suite targets in $dir"
ninja -C "$dir" "${outs[@]}" | tail -n 30  # ninja prints errors on stdout
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
meson test -C "$dir" --suite unit --no-rebuild --print-errorlogs
