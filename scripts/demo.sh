#!/usr/bin/env bash
# The main job: installs what is missing, then runs `hotline demo` (Asterisk, Redis, the
# backend, SIPp agent phones and callers) and prints what happened to each call.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
exec .venv/bin/hotline demo "$@"
