#!/usr/bin/env bash
# ./quickstart.sh: install what is missing, build, and run the main job: calibrate the bundled
# ResNet-20 (examples/zoo, trained on Fashion-MNIST) for TensorRT on 1024 Fashion-MNIST training
# images, evaluate FP32 and int8 top-1 on the 10k test images, and write the files into out/quickstart.
# Extra arguments go to `mqcalib quantize` (e.g. ./quickstart.sh --backend snpe --a-observer mse).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
D=/usr/share/datasets/fashion-mnist
exec build/src/cli/mqcalib quantize \
  --model examples/zoo/resnet20.pt \
  --calib "$D/train-images-idx3-ubyte.gz" --calib-size 1024 --seed 0 \
  --mean 0.2860 --std 0.3530 \
  --backend tensorrt --a-observer kl \
  --eval "$D/t10k-images-idx3-ubyte.gz" --eval-labels "$D/t10k-labels-idx1-ubyte.gz" \
  --out out/quickstart "$@"
