#!/bin/sh
# Reruns the data-free accuracy table of issue 11 (docs/data_free.md): W8A8 with no data (BN ranges,
# cross-layer equalization, analytic bias correction) on both zoo models for tensorrt and fbgemm, snpe
# with and without equalization, the ReLU6 policy, and the transforms on real calibration data; 10k test
# images. The table is written to BUILD/accuracy_data_free.md. Slow: run on a quiet machine.
#   scripts/data_free_table.sh [BUILD_DIR]   (default: build)
set -e
BUILD=${1:-build}
nice -n 10 meson test -C "$BUILD" --suite accuracy accuracy_data_free --print-errorlogs
cat "$BUILD/accuracy_data_free.md"
