#!/usr/bin/env bash
# Browser tests: the Nuxt 2 front end (web/nuxt2) signing in through latchkey and its dev
# identity provider, in headless Chromium driven by playwright-core (tests/e2e/run.mjs).
#
# On a fresh machine this installs what it needs: Debian's Chromium (apt-get; as root or with
# passwordless sudo), the front end's and the tests' npm packages (npm ci, from the lockfiles),
# and builds latchkey. Each run builds the Nuxt app for its own free ports, starts its own
# servers on 127.0.0.1 and stops them. Logs, network log and screenshots: target/e2e/.
# Exits non-zero when any scenario fails.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
die() { echo "e2e: $*" >&2; exit 1; }

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

# --- tools
command -v node >/dev/null 2>&1 || die "Node.js is not installed (Node 18 or newer is needed)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] || die "Node.js $(node --version) is too old: 18 or newer is needed"
command -v cargo >/dev/null 2>&1 || die "cargo is not installed: install Rust from https://rustup.rs first"

# --- Chromium (Debian's; Playwright's own browser download does not work here)
if [ ! -x "$CHROMIUM" ]; then
  step "installing Chromium (apt-get install chromium)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    die "$CHROMIUM is missing: install it with 'sudo apt-get install -y chromium' (or set CHROMIUM=/path/to/chromium)"
  fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium
  [ -x "$CHROMIUM" ] || die "apt-get installed chromium but $CHROMIUM is still missing"
fi
"$CHROMIUM" --version 2>/dev/null || true

# --- npm packages, exactly as locked. Skipped when node_modules already matches the lockfile.
npm_ci() {
  local dir="$1" stamp="$1/node_modules/.latchkey-installed-lock"
  if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "$dir: node_modules matches package-lock.json"
    return
  fi
  step "npm ci ($dir)"
  (cd "$dir" && npm ci --no-audit --no-fund)
  cp "$dir/package-lock.json" "$stamp"
}
npm_ci web/nuxt2
npm_ci tests/e2e

# --- latchkey (debug build: shares its dependencies with cargo test)
step "cargo build -p latchkey-server"
cargo build --locked -p latchkey-server
export LATCHKEY_BIN="${LATCHKEY_BIN:-target/debug/latchkey}"

# --- the tests (they build the Nuxt app for their ports, then run the scenarios)
step "browser tests (tests/e2e/run.mjs)"
exec node tests/e2e/run.mjs
