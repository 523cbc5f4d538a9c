#!/usr/bin/env bash
# Installs the Debian packages mqcalib needs, only those missing. Idempotent, quiet when all is there.
# Sourced by ./quickstart.sh and ./test.sh. Uses sudo only when not root.
set -euo pipefail
MQCALIB_DEBS=(
  meson ninja-build pkg-config g++
  libeigen3-dev libomp-dev libssl-dev libboost-program-options-dev doctest-dev nlohmann-json3-dev libstb-dev
  libtorch-dev python3-torch python3-torchvision python3-numpy
  libonnx-dev libprotobuf-dev
  dataset-fashion-mnist
  clang-14 libclang-rt-14-dev  # the fuzz build (fuzz/README.md): libFuzzer, ASan, UBSan runtimes
  chromium python3-pil
)
missing=()
for p in "${MQCALIB_DEBS[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
# The deploy suite runs ONNX Runtime's Node binding (npm, into build/): node and npm from Debian
# unless some other install already provides the commands.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "mqcalib: installing missing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
