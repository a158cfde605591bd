#!/usr/bin/env bash
# llama.cpp's own C++ `llama-server`, built from the llama.cpp sources vendored in the
# llama-cpp-python sdist (the same llama.cpp with the same patches, llama_sources.sh, and the
# wheel's CPU flags from versions.sh), so the completion bench can compare the sidecar with it
# and the remote-backend tests have a real server. Built once per machine into the cache
# (~5-8 minutes on 2 cores), again when the patches change (their digest is stamped next to it).
#
#   scripts/lib/llama_server.sh          # builds if needed, prints the binary's path
#   source scripts/lib/llama_server.sh; ensure_llama_server
# shellcheck shell=bash
set -euo pipefail
shopt -s inherit_errexit

_LS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_LS_CACHE="${GOSIDECAR_CACHE:-$HOME/.cache/gosidecar}"
# shellcheck source=llama_sources.sh
source "$_LS_ROOT/scripts/lib/llama_sources.sh"

# The path stays the same whatever the patches (tests/llama_server.py finds it there).
llama_server_path() { echo "$_LS_CACHE/llama-server-$LLAMA_CPP_PYTHON_VERSION/bin/llama-server"; }

ensure_llama_server() {
  local binary stamp digest
  binary="$(llama_server_path)"
  stamp="$(dirname "$binary")/../patches-digest"
  digest="$(llama_patches_digest)"
  if [[ -x "$binary" && -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; then return; fi
  local work="$_LS_CACHE/llama-server-$LLAMA_CPP_PYTHON_VERSION.tmp"
  rm -rf "$work" && mkdir -p "$work"
  printf '==> building llama-server from llama-cpp-python %s, patched (once per machine)\n' \
    "$LLAMA_CPP_PYTHON_VERSION" >&2
  local source_dir; source_dir="$(unpack_patched_llama_sdist "$work")/vendor/llama.cpp"
  cmake -S "$source_dir" -B "$work/build" -DCMAKE_BUILD_TYPE=Release "${LLAMA_CPP_CMAKE_FLAGS[@]}" \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >&2
  nice -n 10 cmake --build "$work/build" --target llama-server -j 2 >&2
  mkdir -p "$(dirname "$binary")"
  cp "$work/build/bin/llama-server" "$binary.partial" && mv "$binary.partial" "$binary"
  echo "$digest" > "$stamp"
  rm -rf "$work"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  ensure_llama_server
  llama_server_path
fi
