#!/usr/bin/env bash
# Installs every Debian package cnnc needs to build, test and benchmark.
# Idempotent: packages already present are skipped, and apt is not touched
# at all when nothing is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build make
  llvm-19-dev llvm-19-tools clang-19 libfuzzer-19-dev libclang-rt-19-dev
  antlr4 libantlr4-runtime-dev
  nlohmann-json3-dev zlib1g-dev libzstd-dev libedit-dev libxml2-dev libcurl4-openssl-dev
  python3-torch python3-numpy python3-torchvision
  python3-pil   # image inputs of tools/cnnc-check and cnnc-make-input
  graphviz
  groff-base    # test/docs renders the man page, docs/cnnc.1
)
# Benchmarks only (make bench): oneDNN for the direct-library comparison.
if [[ "${CNNC_WITH_BENCH:-0}" == 1 ]]; then
  PACKAGES+=(libdnnl-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
