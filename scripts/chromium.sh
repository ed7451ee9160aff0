#!/usr/bin/env bash
# Makes sure Debian's Chromium and ChromeDriver are installed (for the console's browser test)
# and prints the ChromeDriver path. Safe to run again.
set -euo pipefail

if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  echo "Chromium/ChromeDriver not found; installing Debian's packages" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >&2
fi
command -v chromedriver
