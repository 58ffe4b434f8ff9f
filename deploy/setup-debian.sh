#!/usr/bin/env bash
# Installs what LoraGrains needs on a fresh Debian 12 machine (idempotent; run as root or with sudo).
#   libtorch-dev          the tensor engine our native shim binds to (CPU build)
#   libopenblas0-pthread  without it libtorch's matmul falls back to the reference BLAS (~15x slower)
#   cmake, g++            build the shim (dotnet build runs CMake automatically)
#   postgresql            the cluster's database (the tests start their own server on loopback)
#   python3-torch         only for the side-by-side benchmarks in bench/ (PyTorch peer): pass --bench
set -euo pipefail

packages=(libtorch-dev libopenblas0-pthread cmake g++ postgresql)
if [[ "${1:-}" == "--bench" ]]; then packages+=(python3-torch); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [[ ${#missing[@]} -gt 0 ]]; then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required (https://dot.net); install it and re-run" >&2
  exit 1
fi
echo "setup: ok (libtorch $(dpkg-query -W -f='${Version}' libtorch-dev), dotnet $(dotnet --version))"
