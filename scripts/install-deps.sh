#!/usr/bin/env bash
# Installs the Debian packages mqcalib needs, only those missing. Idempotent, quiet when all is there.
# Sourced by ./quickstart.sh and ./test.sh. Uses sudo only when not root.
set -euo pipefail
MQCALIB_DEBS=(
  meson ninja-build pkg-config g++
  libeigen3-dev libomp-dev libssl-dev libboost-program-options-dev doctest-dev nlohmann-json3-dev libstb-dev
  libtorch-dev python3-torch python3-torchvision python3-numpy
  dataset-fashion-mnist
  chromium python3-pil
)
missing=()
for p in "${MQCALIB_DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "mqcalib: installing missing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
