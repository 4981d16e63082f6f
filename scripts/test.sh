#!/usr/bin/env bash
# The whole test suite, as a newcomer or CI runs it on a fresh machine:
#   formatting, clippy with warnings denied, every test on SQLite and PostgreSQL, a short smoke
#   run of the benchmark, and the browser tests of the tutorial's Nuxt app.
#
# PostgreSQL: set LATCHKEY_TEST_DATABASE_URL to run the PostgreSQL half; when it is unset and a
# server answers on 127.0.0.1:5432 (trust auth, database `test`), that server is used. Each test
# run works in fresh schemas and drops them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not installed: install Rust from https://rustup.rs first" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

if [ -z "${LATCHKEY_TEST_DATABASE_URL:-}" ]; then
  if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    export LATCHKEY_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
  elif [ "${CI:-}" = "true" ]; then
    echo "CI: PostgreSQL is expected on 127.0.0.1:5432 but does not answer" >&2
    exit 1
  else
    echo "note: no PostgreSQL on 127.0.0.1:5432 and LATCHKEY_TEST_DATABASE_URL unset: SQLite only" >&2
  fi
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (SQLite${LATCHKEY_TEST_DATABASE_URL:+ and PostgreSQL})"
cargo test --workspace --locked

step "benchmark smoke: release build, every scenario for 1 s, no errors allowed"
./scripts/bench-smoke.sh

step "browser tests: the tutorial's Nuxt app in Chromium (scripts/e2e.sh)"
./scripts/e2e.sh
