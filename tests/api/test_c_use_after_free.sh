#!/usr/bin/env bash
# A C caller's use after free of a pipeline handle, caught by AddressSanitizer (issue 13). Runs only in
# a -Db_sanitize=address build (.ci/sanitize.sh). LibTorch's own allocations are not instrumented and
# its registries are reported by LeakSanitizer, so leak detection is off for this one process.
# usage: test_c_use_after_free.sh C_USE_AFTER_FREE MODEL
set -uo pipefail
exe=$1 model=$2
err=$(ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 "$exe" "$model" 2>&1)
rc=$?
echo "$err" | tail -n 40
[ "$rc" -ne 0 ] || { echo "FAIL: the use after free ran to the end (exit 0)"; exit 1; }
[ "$rc" -ne 2 ] || { echo "FAIL: the program could not set up the handle"; exit 1; }
grep -q "heap-use-after-free" <<<"$err" || { echo "FAIL: no heap-use-after-free report"; exit 1; }
grep -q "mqc_set_backend" <<<"$err" || { echo "FAIL: the report does not point at mqc_set_backend"; exit 1; }
grep -q "mqc_pipeline_free" <<<"$err" || { echo "FAIL: the report does not name where it was freed"; exit 1; }
echo "ok: ASan caught the use after free in mqc_set_backend (freed by mqc_pipeline_free)"
