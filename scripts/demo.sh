#!/usr/bin/env bash
# The whole thing running on this machine: the dev identity provider (a local stand-in for
# Google), latchkey, and the tutorial's Nuxt 2 front end. Open the printed URL and sign in.
#
#   ./scripts/demo.sh [--idp-port N] [--api-port N] [--web-port N] [--access-lifetime 30s]
#
# Defaults: identity provider 9099, latchkey 8000, Nuxt 3000 (or DEMO_IDP_PORT, DEMO_API_PORT,
# DEMO_WEB_PORT), access tokens of 30 s (DEMO_ACCESS_LIFETIME) so that a refresh is easy to see.
# It builds latchkey (release), installs the front end's packages and builds it when needed,
# starts the three servers on 127.0.0.1, waits until all answer, and stops all three on Ctrl-C.
# Data (SQLite database, signing key) and logs: target/demo/. Needs cargo, Node 18+ and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

IDP_PORT="${DEMO_IDP_PORT:-9099}"
API_PORT="${DEMO_API_PORT:-8000}"
WEB_PORT="${DEMO_WEB_PORT:-3000}"
ACCESS_LIFETIME="${DEMO_ACCESS_LIFETIME:-30s}"
CLIENT_ID="latchkey-dev-client"
CLIENT_SECRET="latchkey-dev-secret"
WAIT_SECONDS=90

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --idp-port) IDP_PORT="$2"; shift 2 ;;
    --api-port) API_PORT="$2"; shift 2 ;;
    --web-port) WEB_PORT="$2"; shift 2 ;;
    --access-lifetime) ACCESS_LIFETIME="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

for p in "$IDP_PORT" "$API_PORT" "$WEB_PORT"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "not a port number: $p"
done
[ "$IDP_PORT" != "$API_PORT" ] && [ "$API_PORT" != "$WEB_PORT" ] && [ "$IDP_PORT" != "$WEB_PORT" ] ||
  die "the three ports must differ (identity provider $IDP_PORT, latchkey $API_PORT, Nuxt $WEB_PORT)"

command -v cargo >/dev/null 2>&1 || die "cargo is not installed: install Rust from https://rustup.rs first"
command -v node >/dev/null 2>&1 || die "Node.js is not installed (Node 18 or newer is needed)"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ] || die "Node.js $(node --version) is too old: 18 or newer is needed"
command -v curl >/dev/null 2>&1 || die "curl is needed to check that the servers answer"

OUT="$ROOT/target/demo"
mkdir -p "$OUT"

# --- ports: refuse early, naming the port and, when we can tell, who holds it
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
check_port() {
  local port="$1" what="$2" flag="$3"
  if port_busy "$port"; then
    echo "demo: port $port (for $what) is already in use on 127.0.0.1." >&2
    if command -v ss >/dev/null 2>&1; then
      ss -H -ltnp "sport = :$port" 2>/dev/null | sed 's/^/  /' >&2 || true
    fi
    if [ -f "$OUT/pids" ]; then
      echo "  A previous demo may still be running (its process groups: $(tr '\n' ' ' < "$OUT/pids"))." >&2
      echo "  Stop it with Ctrl-C in its terminal, or: kill -- -PGID for each of them." >&2
    fi
    echo "  Or choose another port: $0 $flag N" >&2
    exit 1
  fi
}
check_port "$IDP_PORT" "the dev identity provider" --idp-port
check_port "$API_PORT" "latchkey" --api-port
check_port "$WEB_PORT" "the Nuxt app" --web-port

# --- build latchkey
step "building latchkey (cargo build --release -p latchkey-server)"
cargo build --release --locked -p latchkey-server
LATCHKEY="$ROOT/target/release/latchkey"

# --- the front end: packages exactly as locked (skipped when already installed)
WEB="$ROOT/web/nuxt2"
stamp="$WEB/node_modules/.latchkey-installed-lock"
if [ -f "$stamp" ] && cmp -s "$WEB/package-lock.json" "$stamp"; then
  echo "web/nuxt2: node_modules matches package-lock.json"
else
  step "installing the front end's packages (npm ci in web/nuxt2)"
  (cd "$WEB" && npm ci --no-audit --no-fund)
  cp "$WEB/package-lock.json" "$stamp"
fi

# --- build the front end for these URLs (the auth module bakes them in at build time);
#     skipped when neither the settings nor the sources changed since the last demo build.
export NODE_ENV=development # plain http: the auth cookies must not be Secure
export API_SERVER_URL="http://localhost:$API_PORT/"
export GOOGLE_SOCIAL_LOGIN_CLIENT_ID="$CLIENT_ID"
export GOOGLE_AUTH_URL="http://localhost:$IDP_PORT/o/oauth2/auth"
export NUXT_BUILD_DIR=.nuxt NUXT_DIST_DIR=dist NUXT_TELEMETRY_DISABLED=1
build_key="$(
  {
    echo "$NODE_ENV $API_SERVER_URL $GOOGLE_SOCIAL_LOGIN_CLIENT_ID $GOOGLE_AUTH_URL"
    cd "$WEB" && find nuxt.config.js package-lock.json assets components layouts pages plugins static store \
      -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -d' ' -f1
)"
if [ -f "$WEB/dist/.latchkey-demo-build" ] && [ "$(cat "$WEB/dist/.latchkey-demo-build")" = "$build_key" ]; then
  echo "web/nuxt2: the build in dist/ is up to date"
else
  step "building the front end (nuxt build) for API $API_SERVER_URL"
  (cd "$WEB" && node node_modules/nuxt/bin/nuxt.js build) > "$OUT/nuxt-build.log" 2>&1 || {
    tail -n 40 "$OUT/nuxt-build.log" >&2
    die "nuxt build failed; whole log: $OUT/nuxt-build.log"
  }
  echo "$build_key" > "$WEB/dist/.latchkey-demo-build"
fi

# --- start the three servers, each the leader of its own process group
PIDS=()
NAMES=()
LOGS=()
stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap - INT TERM
  if [ "${#PIDS[@]}" -gt 0 ]; then
    echo
    echo "Stopping the dev identity provider, latchkey and the Nuxt app…"
    local i
    for i in "${!PIDS[@]}"; do kill -TERM -- "-${PIDS[$i]}" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
      local alive=0
      for i in "${!PIDS[@]}"; do kill -0 -- "-${PIDS[$i]}" 2>/dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    for i in "${!PIDS[@]}"; do kill -KILL -- "-${PIDS[$i]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
  rm -f "$OUT/pids"
  echo "Stopped."
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

start() {
  local name="$1" log="$2"
  shift 2
  setsid "$@" > "$log" 2>&1 < /dev/null &
  PIDS+=("$!")
  NAMES+=("$name")
  LOGS+=("$log")
  printf '%s\n' "${PIDS[@]}" > "$OUT/pids"
}

step "starting the dev identity provider, latchkey and the Nuxt app"
start "dev identity provider" "$OUT/idp.log" \
  "$LATCHKEY" dev-idp --listen "127.0.0.1:$IDP_PORT" --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET"

start "latchkey" "$OUT/latchkey.log" env \
  LATCHKEY_ENV=development \
  LATCHKEY_LISTEN="127.0.0.1:$API_PORT" \
  LATCHKEY_DATA_DIR="$OUT/latchkey-data" \
  LATCHKEY_ISSUER="http://localhost:$API_PORT" \
  LATCHKEY_ACCESS_TOKEN_LIFETIME="$ACCESS_LIFETIME" \
  LATCHKEY_CORS_ORIGINS="http://localhost:$WEB_PORT,http://127.0.0.1:$WEB_PORT" \
  LATCHKEY_REDIRECT_URIS="http://localhost:$WEB_PORT/login,http://127.0.0.1:$WEB_PORT/login" \
  LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID="$CLIENT_ID" \
  LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET="$CLIENT_SECRET" \
  LATCHKEY_PROVIDERS__GOOGLE__DISCOVERY_URL="http://127.0.0.1:$IDP_PORT/.well-known/openid-configuration" \
  "$LATCHKEY" serve

start "Nuxt app" "$OUT/nuxt.log" \
  node "$WEB/node_modules/nuxt/bin/nuxt.js" start "$WEB" --hostname 127.0.0.1 --port "$WEB_PORT"

# --- wait until each answers (bounded), failing early if one exits
wait_for() {
  local i="$1" url="$2" deadline=$((SECONDS + WAIT_SECONDS))
  while :; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "demo: ${NAMES[$i]} exited before answering $url. Last lines of ${LOGS[$i]}:" >&2
      tail -n 30 "${LOGS[$i]}" >&2
      exit 1
    fi
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      echo "  ${NAMES[$i]} answers at $url"
      return
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "demo: timed out after ${WAIT_SECONDS} s waiting for ${NAMES[$i]} at $url. Last lines of ${LOGS[$i]}:" >&2
      tail -n 30 "${LOGS[$i]}" >&2
      exit 1
    fi
    sleep 0.3
  done
}
wait_for 0 "http://127.0.0.1:$IDP_PORT/.well-known/openid-configuration"
wait_for 1 "http://127.0.0.1:$API_PORT/healthz"
wait_for 2 "http://127.0.0.1:$WEB_PORT/"

cat <<EOF

  Ready. Open  http://localhost:$WEB_PORT/  and sign in with any e-mail address.

  dev identity provider  http://localhost:$IDP_PORT/   (stands in for Google)
  latchkey               http://localhost:$API_PORT/   (access tokens last $ACCESS_LIFETIME)
  Nuxt app               http://localhost:$WEB_PORT/
  logs and data          $OUT/

  Press Ctrl-C to stop all three.
EOF

# --- run until Ctrl-C, or until one of the servers stops on its own
while :; do
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "demo: ${NAMES[$i]} stopped unexpectedly. Last lines of ${LOGS[$i]}:" >&2
      tail -n 30 "${LOGS[$i]}" >&2
      exit 1
    fi
  done
  sleep 1
done
