#!/usr/bin/env bash
# bench/recon/resnet50_scale.sh: issue 10's scale check. torchvision resnet50 at 3x224x224 (weights as built,
# 256 random calibration samples: memory and time, not accuracy), BRECQ at block granularity with
# --cache-budget 1024; issue 10's limit: peak RSS under 3 GB. Prints wall time, peak RSS and the caches'
# spilled bytes (report.json) and exits 1 when the RSS limit is missed.
#
# Usage: [CALIB_SIZE=256] bench/recon/resnet50_scale.sh [build_dir=build] [iters=100] [act_iters=100] [extra mqcalib args]
# Long on 2 cores (every unit's inputs come from a pass of the model as quantized so far): run it alone, niced.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
iters="${2:-100}"
act_iters="${3:-100}"
shift $(( $# > 3 ? 3 : $# ))
out="$build/resnet50_scale"
rss_limit_kib=$(( 3 * 1000 * 1000 * 1000 / 1024 ))  # 3 GB
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
[ -s "$out/calib_256x3x224x224.npy" ] || /usr/bin/python3 "$root/bench/recon/resnet50_scale.py" "$out"
rm -rf "$out/q"
/usr/bin/time -v -o "$out/time.txt" "$build/src/cli/mqcalib" quantize --model "$out/resnet50_224.pt" \
  --calib "$out/calib_256x3x224x224.npy" --calib-size "${CALIB_SIZE:-256}" --backend academic --w-bits 4 --a-bits 4 \
  --method brecq --iters "$iters" --act-iters "$act_iters" --cache-budget 1024 --out "$out/q" "$@" \
  > "$out/log.txt" 2>&1
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/time.txt")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
spilled=$(/usr/bin/python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['brecq']['cache_bytes_spilled']))" \
  "$out/q/report.json")
echo "resnet50 3x224x224, ${CALIB_SIZE:-256} samples, brecq --iters $iters --act-iters $act_iters --cache-budget 1024: wall $wall," \
  "peak RSS $(( rss / 1024 )) MiB, spilled $(( spilled / 1048576 )) MiB"
[ "$rss" -lt "$rss_limit_kib" ] || { echo "peak RSS above 3 GB: NOT met"; exit 1; }
echo "peak RSS under 3 GB: met"
