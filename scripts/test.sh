#!/usr/bin/env bash
# The whole test suite, against SQLite and PostgreSQL (README's second command; CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  TEST_DATABASE_URL="$(bash scripts/postgres.sh)"
  export TEST_DATABASE_URL
fi
echo "PostgreSQL for the tests: $TEST_DATABASE_URL"
cargo test --all-targets "$@"
