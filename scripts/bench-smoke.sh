#!/usr/bin/env bash
# The benchmark's smoke test: builds latchkey and latchkey-bench in release mode, then runs every
# scenario of docs/BENCHMARKS.md for one second on small seeds (500 and 5,000 users) and fails
# unless every request succeeded. Under half a minute after the build. Not a measurement: the
# figures it prints are too short to compare.
#
# PostgreSQL: as scripts/bench.sh (LATCHKEY_TEST_DATABASE_URL, else 127.0.0.1:5432 if it answers).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${LATCHKEY_TEST_DATABASE_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  export LATCHKEY_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
fi

cargo build --release --locked -p latchkey-server -p latchkey-bench
exec target/release/latchkey-bench smoke "$@"
