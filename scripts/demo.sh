#!/usr/bin/env bash
# The main job for now: start the server on an embedded SQLite file and drive it with curl as an
# operator would (create a campaign, upload leads, read them back, analytics, export).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet
DIR="$(mktemp -d)"
PORT="${PORT:-8000}"
export DATABASE_URL="sqlite://$DIR/demo.db?mode=rwc" BIND_ADDR="127.0.0.1:$PORT" API_KEY="demo-key"
./target/debug/voice-runtime serve >"$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done

API="http://127.0.0.1:$PORT"
AUTH=(-H "Authorization: Bearer demo-key")
show() { echo; echo "\$ $*"; "$@"; echo; }

show curl -s "$API/health"
show curl -s "${AUTH[@]}" -X POST "$API/campaigns" -H 'Content-Type: application/json' \
  -d '{"name": "Pune launch", "max_concurrent_calls": 5}'
show curl -s "${AUTH[@]}" -X POST "$API/campaigns/1/upload-csv" -F file=@examples/leads.csv
show curl -s "${AUTH[@]}" "$API/campaigns/1/leads?limit=2"
show curl -s "${AUTH[@]}" "$API/analytics/campaign/1"
show curl -s "${AUTH[@]}" -X PATCH "$API/campaigns/1" -H 'Content-Type: application/json' \
  -d '{"calling_hours_end": 25}'
show curl -s "$API/campaigns"
echo "Server log: the last lines"; tail -n 5 "$DIR/server.log"
