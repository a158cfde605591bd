# The llama.cpp sources both llama.cpp builds use: the llama-cpp-python sdist (which vendors
# llama.cpp) with the patches under scripts/patches/ applied, for the wheel
# (scripts/lib/setup.sh) and llama-server (scripts/lib/llama_server.sh). A patch that no
# longer applies fails the build.
# shellcheck shell=bash
set -euo pipefail
shopt -s inherit_errexit

_SRC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=versions.sh
source "$_SRC_ROOT/scripts/lib/versions.sh"

LLAMA_CPP_PATCHES=("$_SRC_ROOT/scripts/patches/llama-cpp-flash-attn-quantized-tiles.patch")

# Part of the cache keys of the wheel and llama-server, so a changed patch rebuilds them.
llama_patches_digest() { cat "${LLAMA_CPP_PATCHES[@]}" | sha256sum | cut -c1-12; }

# Downloads the sdist into the empty directory $1, unpacks and patches it there, and prints
# the unpacked sdist's directory.
unpack_patched_llama_sdist() {
  local work="$1"
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$work" \
    "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2
  tar -xzf "$work/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz" -C "$work"
  local sdist="$work/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION" patch_file
  for patch_file in "${LLAMA_CPP_PATCHES[@]}"; do
    patch --batch --forward --fuzz=0 -p1 -d "$sdist" < "$patch_file" >&2
  done
  echo "$sdist"
}
