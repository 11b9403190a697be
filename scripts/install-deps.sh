#!/usr/bin/env bash
# Installs every Debian package Flowline needs to build, test, fuzz and benchmark.
# Idempotent: packages already present are left alone. Run as root (or via sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3 curl openssl ca-certificates
  clang libclang-rt-dev llvm clang-format
  libyaml-cpp-dev rapidjson-dev libcurl4-openssl-dev libfmt-dev
  libsqlite3-dev sqlite3 libsodium-dev libpq-dev duktape-dev
  libcli11-dev libcpp-httplib-dev libssl-dev libmimalloc-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libvalijson-dev
  nginx  # the local keep-alive server of bench/batch_bench.sh (nginx-light is nginx plus a module)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
