#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright cannot download its own browser
# here). Install it once, with apt-get, when it is missing; then check that it starts.
# Any failure exits non-zero, so `make test` (and CI) stop loudly instead of skipping.
set -euo pipefail

find_chromium() {
  command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || true
}

CHROMIUM="$(find_chromium)"
if [ -z "$CHROMIUM" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: chromium is missing and apt-get is not available; install Chromium and put it on PATH" >&2
    exit 1
  fi
  if [ "$(id -u)" != "0" ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "ensure_chromium: chromium is missing; run as root or install sudo (apt-get install chromium)" >&2
      exit 1
    fi
    SUDO=sudo
  else
    SUDO=
  fi
  echo "Installing Debian's chromium for the browser tests…"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  CHROMIUM="$(find_chromium)"
  if [ -z "$CHROMIUM" ]; then
    echo "ensure_chromium: apt-get finished but no chromium is on PATH" >&2
    exit 1
  fi
fi
# Korean pages (the browser tests' Korean walk and its screenshots) need a Hangul font.
if command -v fc-list >/dev/null 2>&1 && ! fc-list | grep -qi nanum; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=; [ "$(id -u)" != "0" ] && SUDO=sudo
    echo "Installing Debian's fonts-nanum (Hangul) for the browser tests…"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-nanum >/dev/null
  fi
fi
# It must actually start (a broken install fails here, not halfway through the tests).
if ! "$CHROMIUM" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1; then
  echo "ensure_chromium: $CHROMIUM does not start" >&2
  exit 1
fi
echo "Chromium for the browser tests: $("$CHROMIUM" --version 2>/dev/null)"
