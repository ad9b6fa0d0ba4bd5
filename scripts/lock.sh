#!/usr/bin/env bash
# Refreshes requirements.lock from pyproject.toml (dependencies and the test and lock extras):
# exact versions, each with the hash of every file the index serves for it, for any Linux with
# Python 3.11 or later. Versions still allowed are kept; `--upgrade` (or `--upgrade-package
# NAME`) takes the newest allowed. Then ./scripts/install.sh brings .venv to the new lock.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || ./scripts/install.sh
exec .venv/bin/uv pip compile pyproject.toml --extra test --extra lock \
  --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command "./scripts/lock.sh" --quiet --output-file requirements.lock "$@"
