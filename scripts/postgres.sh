#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the tests on 127.0.0.1:25432 (installing Debian's package
# if it is missing) and prints the admin URL. Safe to run again: a running server is reused.
set -euo pipefail

# Below Linux's ephemeral range (32768-60999): a test's or benchmark's port-0 sockets never
# take it, so a start after a benchmark does not fail with "address in use".
PORT="${TEST_PG_PORT:-25432}"
DATA="${TEST_PG_DIR:-/tmp/voice-runtime-pg-$PORT}"

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(pg_bin)" ]; then
  echo "PostgreSQL not found; installing Debian's package" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
fi
BIN="$(pg_bin)"

# PostgreSQL refuses to run as root: run it as the postgres user the package created.
if [ "$(id -u)" -eq 0 ]; then AS=(runuser -u postgres --); else AS=(); fi

if ! "${AS[@]}" "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DATA"
    "${AS[@]}" "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 >/dev/null
  fi
  "${AS[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >&2
fi
echo "postgres://postgres@127.0.0.1:$PORT/postgres"
