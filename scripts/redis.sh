#!/usr/bin/env bash
# Starts a throwaway Redis for the tests on 127.0.0.1:26379 (installing Debian's redis-server
# package if it is missing) and prints its URL. Safe to run again: a running server is reused.
# No persistence (no RDB, no AOF): the tests' keys live and die with the process.
set -euo pipefail

# Below Linux's ephemeral range, as scripts/postgres.sh's port.
PORT="${TEST_REDIS_PORT:-26379}"
DIR="${TEST_REDIS_DIR:-/tmp/voice-runtime-redis-$PORT}"

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "redis-server not found; installing Debian's package" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >&2
fi

if ! redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1; then
  mkdir -p "$DIR"
  redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR" \
    --save '' --appendonly no --daemonize yes \
    --pidfile "$DIR/redis.pid" --logfile "$DIR/server.log" >&2
  # Daemonized: wait (bounded) until it answers.
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1 || {
    echo "redis-server did not start; see $DIR/server.log" >&2
    exit 1
  }
fi
echo "redis://127.0.0.1:$PORT"
