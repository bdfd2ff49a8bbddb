#!/usr/bin/env bash
# Runs the whole suite the way CI does: lint, then every test tier. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing}
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
$BIN/ruff check .
$BIN/ruff format --check .
$BIN/mypy  # files and strictness per module: [tool.mypy] in pyproject.toml
bash scripts/ensure-chromium.sh  # Debian's Chromium for tests/browser (no-op when present)
mkdir -p build
rc=0
$BIN/python -m pytest -n 2 --dist loadgroup -q --junitxml=build/junit.xml "$@" || rc=$?
if [ "$rc" -ne 0 ]; then
  $BIN/python scripts/junit_summary.py build/junit.xml  # last: CI shows only the tail
fi
exit "$rc"
