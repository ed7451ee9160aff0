#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: runs the console's browser test (SQLite) with
# SCREENSHOTS_DIR set, so it photographs each page as it goes.
set -euo pipefail
cd "$(dirname "$0")/.."
CHROMEDRIVER="$(bash scripts/chromium.sh)"
export CHROMEDRIVER
export SCREENSHOTS_DIR="$PWD/docs/screenshots"
mkdir -p "$SCREENSHOTS_DIR"
cargo test --test api console_browser::an_operator_runs_a_campaign_from_the_console::sqlite -- --exact
ls -1 "$SCREENSHOTS_DIR"
