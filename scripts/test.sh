#!/usr/bin/env bash
# The whole test suite: installs what is missing, then lint, types, import contracts and every
# test (unit, integration with real Redis/PostgreSQL, end-to-end with a real Asterisk and SIPp).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy; .venv/bin/mypy tests bench
echo "== lint-imports"; .venv/bin/lint-imports
echo "== pytest"; exec .venv/bin/pytest -q -p no:cacheprovider "$@"
