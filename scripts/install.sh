#!/usr/bin/env bash
# Idempotent installer: Debian packages (Asterisk 16 from Debian 11's archive, SIPp, Redis,
# PostgreSQL, espeak-ng, sox, Chromium), the project's virtualenv, and the Mandarin prompts.
# Safe to run twice; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

BULLSEYE_LIST=/etc/apt/sources.list.d/hotline-bullseye.sources
PINNING=/etc/apt/preferences.d/hotline-bullseye
DEB_PACKAGES=(asterisk sip-tester redis-server postgresql espeak-ng sox
              libsox-fmt-base  # Ogg Vorbis for the recordings' compression (sox, soxi)
              python3-venv ca-certificates procps
              chromium fonts-wqy-microhei)  # browser tests of the desktops, Chinese glyphs

need_apt=0
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt=1
done

if [ "$need_apt" = 1 ]; then
  if [ ! -f "$BULLSEYE_LIST" ]; then
    # Debian 12 has no asterisk package; Debian 11 ships Asterisk 16.28. Pin bullseye low so
    # that only what we ask for (and its missing libraries) comes from it.
    $SUDO tee "$BULLSEYE_LIST" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bullseye-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    $SUDO tee "$PINNING" >/dev/null <<'PIN'
Package: *
Pin: release n=bullseye
Pin-Priority: 100

Package: *
Pin: release n=bullseye-security
Pin-Priority: 100
PIN
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${DEB_PACKAGES[@]}" >/dev/null
fi

# Python virtualenv: exactly the versions of requirements.lock, every file checked against its
# hash, then the project itself (editable, nothing resolved for it, its build backend from the
# lock too). pip only adds, so what an older lock brought and this one does not is removed.
VENV="$ROOT/.venv"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/pip" install -q --require-hashes -r requirements.lock
  names() {  # the normalised names of `name==version` lines
    sed -nE 's/^([A-Za-z0-9][A-Za-z0-9._-]*)==.*/\1/p' | sed -E 's/[-_.]+/-/g' \
      | tr '[:upper:]' '[:lower:]' | sort -u
  }
  stale=$(comm -13 <(names <requirements.lock) <("$VENV/bin/pip" freeze --exclude-editable | names))
  if [ -n "$stale" ]; then
    # shellcheck disable=SC2086  # one package name a word
    "$VENV/bin/pip" uninstall -q -y $stale
  fi
  "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e .
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

# Mandarin prompts (8 kHz mono WAV) for the IVR.
"$VENV/bin/hotline" prompts build
