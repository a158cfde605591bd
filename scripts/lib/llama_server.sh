#!/usr/bin/env bash
# llama.cpp's own C++ `llama-server`, built from the llama.cpp sources vendored in the
# llama-cpp-python sdist (the same llama.cpp, with the wheel's CPU flags from versions.sh), so
# the completion bench can compare the sidecar with it and the remote-backend tests have
# a real server. Built once per machine into the cache (~5-8 minutes on 2 cores).
#
#   scripts/lib/llama_server.sh          # builds if needed, prints the binary's path
#   source scripts/lib/llama_server.sh; ensure_llama_server
# shellcheck shell=bash
set -euo pipefail
shopt -s inherit_errexit

_LS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_LS_CACHE="${GOSIDECAR_CACHE:-$HOME/.cache/gosidecar}"
# shellcheck source=versions.sh
source "$_LS_ROOT/scripts/lib/versions.sh"

llama_server_path() { echo "$_LS_CACHE/llama-server-$LLAMA_CPP_PYTHON_VERSION/bin/llama-server"; }

ensure_llama_server() {
  local binary; binary="$(llama_server_path)"
  if [[ -x "$binary" ]]; then return; fi
  local work="$_LS_CACHE/llama-server-$LLAMA_CPP_PYTHON_VERSION.tmp"
  rm -rf "$work" && mkdir -p "$work"
  printf '==> building llama-server from llama-cpp-python %s (once per machine)\n' \
    "$LLAMA_CPP_PYTHON_VERSION" >&2
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$work" \
    "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2
  tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
  local source_dir; source_dir="$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)"
  cmake -S "$source_dir" -B "$work/build" -DCMAKE_BUILD_TYPE=Release "${LLAMA_CPP_CMAKE_FLAGS[@]}" \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >&2
  nice -n 10 cmake --build "$work/build" --target llama-server -j 2 >&2
  mkdir -p "$(dirname "$binary")"
  cp "$work/build/bin/llama-server" "$binary.partial" && mv "$binary.partial" "$binary"
  rm -rf "$work"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  ensure_llama_server
  llama_server_path
fi
