#!/usr/bin/env bash
# The whole test suite, against SQLite and PostgreSQL, with Redis, and in headless Chromium
# (README's second command; CI runs it). Installs and starts what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  TEST_DATABASE_URL="$(bash scripts/postgres.sh)"
  export TEST_DATABASE_URL
fi
echo "PostgreSQL for the tests: $TEST_DATABASE_URL"
# The session mirror's tests write to a real redis-server (Debian's package).
if [ -z "${TEST_REDIS_URL:-}" ]; then
  TEST_REDIS_URL="$(bash scripts/redis.sh)"
  export TEST_REDIS_URL
fi
echo "Redis for the tests: $TEST_REDIS_URL"
# The console's end-to-end test drives Debian's headless Chromium.
if [ -z "${CHROMEDRIVER:-}" ]; then
  CHROMEDRIVER="$(bash scripts/chromium.sh)"
  export CHROMEDRIVER
fi
# A failing test's message, not a backtrace, at the end of the output (a CI excerpt keeps the
# end: a backtrace once pushed the failed assertion's text out of it). TEST_BACKTRACE=1 for them.
export RUST_BACKTRACE="${TEST_BACKTRACE:-0}"
cargo test --all-targets "$@"
# The multi-process cluster test starts three servers beside the simulator and PostgreSQL: it
# runs after the suite, alone, so the machine's two cores are its own (same build, no rebuild).
if [ "$#" -eq 0 ]; then
  cargo test --test api -- --ignored cluster_processes
fi
