#!/usr/bin/env bash
# Runs the libFuzzer targets of a fuzz build (fuzz/README.md).
#   fuzz/run_fuzz.sh [-j JOBS] [-runs N] BUILD_DIR SECONDS [TARGET...]
# Each target (default: all) runs until SECONDS have passed or N inputs were executed (-runs),
# with -rss_limit_mb=2048 -malloc_limit_mb=1024, from the corpus BUILD_DIR/fuzz/corpus/TARGET
# (started from the generated seeds, kept between runs). A crash, leak, sanitizer report, timeout
# or limit hit fails the run (exit 1) and leaves the input in BUILD_DIR/fuzz/artifacts/.
# fuzz_torchscript runs in fork mode with OOMs and crashes ignored: LibTorch's unpickler allocates
# lengths read from the file, and its parser crashes on some mutated sources (fuzz/README.md). Each
# crash input is then replayed and fails the run unless the crash is inside LibTorch (the first frame
# that is not the sanitizer's, libFuzzer's or the C/C++ runtime's is not mqcalib's); timeouts fail.
# One line per target: "fuzz: TARGET: N runs in S s (R exec/s), peak RSS M MB: ok|FAILED (...)".
set -uo pipefail
jobs=1
runs=""
while [ $# -gt 0 ]; do
  case "$1" in
    -j) jobs="$2"; shift 2 ;;
    -runs) runs="$2"; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -lt 2 ]; then
  sed -n '2,11p' "$0"
  exit 2
fi
build="$(cd "$1" && pwd)"
seconds="$2"
shift 2
src="$(cd "$(dirname "$0")" && pwd)"
all=(idx idx_gz npy image labels params_json weight_codes config torchscript)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
mkdir -p "$build/fuzz/corpus" "$build/fuzz/artifacts" "$build/fuzz/logs"

# Replays a crash input of fuzz_torchscript; prints "libtorch" or "mqcalib" for where it crashed: the
# first stack frame that is not the sanitizer's, libFuzzer's, the C/C++ runtime's or an unwinder's.
crash_owner() {
  local exe="$1" input="$2" frame
  frame=$(env OMP_NUM_THREADS=1 MQCALIB_FUZZ_TMP=/dev/shm LSAN_OPTIONS="suppressions=$src/lsan_libtorch.supp" \
    timeout 120 "$exe" "$input" 2>&1 | grep -aE '^ +#[0-9]+ ' |
    grep -avE '__sanitizer|__asan|__ubsan|__interceptor|fuzzer::|libc\.so|libstdc\+\+|libgcc|ld-linux|/nptl/|/stdlib/|/signal/|abort|raise|__cxa|__gxx|std::terminate|_Unwind|in memcpy|in memmove|in operator new|in malloc|in posix_memalign|c10::alloc_cpu|\(\[stack\]' |
    head -1)
  local fn=""
  [[ "$frame" == *" in "* ]] && fn=$(sed -E 's/.* in ([^ (]+).*/\1/' <<<"$frame")
  case "$fn" in
    torch::* | c10::* | at::* | caffe2::*) echo libtorch ;;
    "") [[ "$frame" == *libtorch* || "$frame" == *libc10* ]] && echo libtorch || echo mqcalib ;;
    *) echo mqcalib ;;
  esac
}

run_one() {
  local t="$1" exe="$build/fuzz/fuzz_$1" corpus="$build/fuzz/corpus/$1" log="$build/fuzz/logs/$1.log"
  if [ ! -x "$exe" ]; then
    echo "fuzz: $t: FAILED (no executable $exe; build it: ninja -C $build fuzz/fuzz_$t)"
    return 1
  fi
  if [ ! -d "$corpus" ]; then
    mkdir -p "$corpus"
    cp "$build/fuzz/seeds/$t/"* "$corpus/" 2>/dev/null || true
  fi
  local args=(-rss_limit_mb=2048 -malloc_limit_mb=1024 -max_total_time="$seconds" -timeout=60
              -print_final_stats=1 -artifact_prefix="$build/fuzz/artifacts/$t-")
  [ -n "$runs" ] && args+=(-runs="$runs")
  local env_extra=()
  if [ "$t" = torchscript ]; then
    args+=(-fork=1 -ignore_ooms=1 -ignore_crashes=1 -ignore_timeouts=0)
    env_extra=(LSAN_OPTIONS="suppressions=$src/lsan_libtorch.supp")
  fi
  local start=$SECONDS stamp="$build/fuzz/logs/$t.start"
  touch "$stamp"
  env OMP_NUM_THREADS=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 MQCALIB_FUZZ_TMP=/dev/shm "${env_extra[@]}" \
    nice -n 10 "$exe" "${args[@]}" "$corpus" >"$log" 2>&1
  local rc=$? took=$((SECONDS - start))
  local n rate rss ooms=""
  n=$(grep -a 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
  rss=$(grep -a 'stat::peak_rss_mb' "$log" | tail -1 | awk '{print $2}')
  if [ -z "$n" ]; then  # fork mode: "#N: cov: .. exec/s: .. oom/timeout/crash: a/b/c time: ..."
    n=$(grep -aoE '^#[0-9]+: cov' "$log" | tail -1 | tr -dc '0-9')
    ooms=$(grep -aoE 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' "$log" | tail -1 | awk '{print $2}')
    rss=$(grep -aoE 'rss: [0-9]+Mb' "$log" | tail -1 | tr -dc '0-9')
  fi
  rate=$(( ${n:-0} / (took > 0 ? took : 1) ))
  local what="ok"
  # Fork mode exits non-zero after an ignored OOM or crash; timeouts and crashes in mqcalib's code count.
  local lt_crashes=0 f
  if [ "$t" = torchscript ] && [ -n "$ooms" ]; then
    local timeouts=${ooms#*/}
    timeouts=${timeouts%/*}
    rc=0
    [ "$timeouts" != 0 ] && rc=1
    while IFS= read -r f; do
      if [ "$(crash_owner "$exe" "$f")" = libtorch ]; then
        lt_crashes=$((lt_crashes + 1))
      else
        echo "fuzz: $t: crash in mqcalib's code: $f" && rc=1
      fi
    done < <(find "$build/fuzz/artifacts" -name "$t-crash-*" -newer "$stamp")
  fi
  [ $rc -ne 0 ] && what="FAILED (exit $rc; see $log)"
  echo "fuzz: $t: ${n:-0} runs in ${took} s (${rate} exec/s), peak RSS ${rss:-?} MB${ooms:+, oom/timeout/crash $ooms ($lt_crashes crashes inside LibTorch)}: $what"
  return $rc
}

fail=0
pids=()
names=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || fail=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
exit $fail
