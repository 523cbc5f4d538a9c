#!/usr/bin/env bash
# The C API as a deployment tool meets it: install the project into a temporary prefix (meson install
# --destdir), build examples/c_api/calibrate_trt.c with cc and `pkg-config --cflags --libs mqcalib` against
# the installed files only, run it on 256 Fashion-MNIST images it reads itself, and check that its
# params.json and calib.cache equal the CLI's for the same options and samples.
set -euo pipefail
SRC=${MQCALIB_SOURCE_ROOT:?}; BUILD=${MQCALIB_BUILD_ROOT:?}
# Outside the source and build trees, so that a path into either cannot go unnoticed.
T=$(mktemp -d "${TMPDIR:-/tmp}/mqcalib-c-install.XXXXXX"); trap 'rm -rf "$T"' EXIT
DESTDIR="$T/root"
meson install -C "$BUILD" --destdir "$DESTDIR" --no-rebuild --quiet >/dev/null
pc=$(find "$DESTDIR" -name mqcalib.pc | head -n1)
[ -n "$pc" ] || { echo "no mqcalib.pc installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_SYSROOT_DIR="$DESTDIR" PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_LIBDIR="$(dirname "$pc")"
flags=$(pkg-config --cflags --libs mqcalib)
case "$flags" in *"$SRC"*|*"$BUILD"*) echo "pkg-config points into the source or build tree: $flags"; exit 1;; esac
# Only the public headers are installed, and they include no internal or LibTorch header.
for h in "$DESTDIR"/usr/local/include/mqcalib/*.h; do
  if grep -E '#include [<"](core|pipeline|graph|exec|export|import|data|calibrators|reconstruction|torch|ATen|c10)/' "$h"; then
    echo "public header $h includes an internal or LibTorch header"; exit 1
  fi
done
cc -std=c99 -Wall -Wextra -Werror -o "$T/calibrate_trt" "$SRC/examples/c_api/calibrate_trt.c" $flags -lz
# ldd's output is captured before it is searched: `ldd | grep -q` under pipefail fails whenever grep exits on
# its match before ldd has written its last line (ldd then dies of SIGPIPE); CI hit that race once.
links=$(LD_LIBRARY_PATH="$libdir" ldd "$T/calibrate_trt")
case "$links" in *"$libdir/libmqcalib.so"*) ;; *) printf 'not linked to the installed library %s:\n%s\n' "$libdir" "$links"; exit 1;; esac

D=/usr/share/datasets/fashion-mnist
/usr/bin/python3 - "$D/train-images-idx3-ubyte.gz" "$T/first256.gz" <<'PY'
import gzip, struct, sys
src = gzip.open(sys.argv[1]).read()
n, rows, cols = 256, 28, 28
gzip.open(sys.argv[2], "wb").write(struct.pack(">IIII", 0x803, n, rows, cols) + src[16:16 + n * rows * cols])
PY
LD_LIBRARY_PATH="$libdir" OMP_NUM_THREADS=2 "$T/calibrate_trt" "$SRC/examples/zoo/resnet20.pt" "$T/first256.gz" 256 "$T/c_out" > "$T/c.log"
"$BUILD/src/cli/mqcalib" quantize --model "$SRC/examples/zoo/resnet20.pt" --calib "$T/first256.gz" --calib-size 256 \
  --mean 0.2860 --std 0.3530 --backend tensorrt --a-observer kl --quiet --out "$T/cli_out" > /dev/null
cmp "$T/c_out.calib.cache" "$T/cli_out/calib.cache"
cmp "$T/c_out/calib.cache" "$T/cli_out/calib.cache"
/usr/bin/python3 - "$T/c_out/params.json" "$T/cli_out/params.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
pa, pb = a.pop("provenance"), b.pop("provenance")
assert a == b, "tensors differ between the C API and the CLI"
for k in ("model_sha256", "backend", "calib_samples", "calib_sha256", "weight_rounding"):
    assert pa[k] == pb[k], (k, pa[k], pb[k])
print("C API and CLI params.json equal:", len(a["tensors"]), "tensors; calib_sha256", pa["calib_sha256"][:12])
PY
grep -q "activations:" "$T/c.log"
