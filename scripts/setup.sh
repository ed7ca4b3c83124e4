#!/usr/bin/env bash
# Installs the Debian packages bilevel needs to build and test. Idempotent: when everything is
# already installed it prints nothing and returns at once (one dpkg-query call).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libeigen3-dev            # linear algebra
  libcli11-dev             # command line
  libtomlplusplus-dev      # TOML configs
  nlohmann-json3-dev       # JSON output
  libfmt-dev               # formatting
  libgtest-dev             # tests
  libbenchmark-dev         # micro benchmarks
  zlib1g-dev               # gzip datasets
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
