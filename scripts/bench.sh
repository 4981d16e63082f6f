#!/usr/bin/env bash
# The benchmark (docs/BENCHMARKS.md): builds latchkey and latchkey-bench in release mode, then
# runs every scenario against a fresh latchkey and the baseline server, prints the table and
# writes target/bench/results.json. About three minutes after the build.
#
#   ./scripts/bench.sh [--duration 10s] [--connections 32] [--only user,refresh,...]
#                      [--postgres URL] [--wrk] [--keep]
#
# PostgreSQL scenarios use --postgres or LATCHKEY_TEST_DATABASE_URL; when neither is given and a
# server answers on 127.0.0.1:5432 (trust auth, database `test`), that one is used. A database
# latchkey_bench_<random> is created on it and dropped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${LATCHKEY_TEST_DATABASE_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  export LATCHKEY_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
fi

cargo build --release --locked -p latchkey-server -p latchkey-bench
exec target/release/latchkey-bench run "$@"
