#!/usr/bin/env bash
# The whole test suite: installs what is missing, then lint, types, import contracts and every
# test (unit, integration with real Redis/PostgreSQL, end-to-end with a real Asterisk and SIPp).
set -euo pipefail
cd "$(dirname "$0")/.."
# Bytecode caches on (__pycache__ is git-ignored): with PYTHONDONTWRITEBYTECODE set, pytest
# rewrites every test module again and each backend, CLI and HTTP child the tests start
# compiles the project from source (test_cli_users: 27 s without the caches, 16 s with).
unset PYTHONDONTWRITEBYTECODE
./scripts/install.sh
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy; .venv/bin/mypy tests bench
echo "== lint-imports"; .venv/bin/lint-imports
# Two workers (tests/conftest.py): an end-to-end or browser module on each at a time (its
# tests in order), the unit and integration tests after them.
# The slowest tests are listed at the end: what to look at when the suite grows slow.
echo "== pytest"; exec .venv/bin/pytest -q -p no:cacheprovider -n 2 --durations=30 "$@"
