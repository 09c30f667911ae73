#!/usr/bin/env bash
# The portal's translations are compiled with GNU gettext's msgfmt (Django's
# compilemessages calls it). Install Debian's gettext once, with apt-get, when msgfmt
# is missing. Any failure exits non-zero, so `make install` stops loudly.
set -euo pipefail

if ! command -v msgfmt >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_gettext: msgfmt is missing and apt-get is not available; install GNU gettext" >&2
    exit 1
  fi
  SUDO=
  if [ "$(id -u)" != "0" ]; then
    command -v sudo >/dev/null 2>&1 || { echo "ensure_gettext: run as root or install sudo (apt-get install gettext)" >&2; exit 1; }
    SUDO=sudo
  fi
  echo "Installing Debian's gettext for the translations…"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gettext >/dev/null
  command -v msgfmt >/dev/null 2>&1 || { echo "ensure_gettext: apt-get finished but msgfmt is not on PATH" >&2; exit 1; }
fi
