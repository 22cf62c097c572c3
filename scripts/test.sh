#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test file with node's runner.
# Tests start (and stop, by PID) the real services they need: PostgreSQL, notebook servers, Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mapfile -t files < <(find dist/src dist/test -name '*.test.js' | sort)
export HIGHRATE_LOG_LEVEL="${HIGHRATE_LOG_LEVEL:-warn}"
# The reporter is TAP with the failed tests listed before the summary (scripts/test-reporter.mjs).
exec node --test --test-reporter=./scripts/test-reporter.mjs --test-reporter-destination=stdout \
  --test-concurrency=1 --test-timeout=600000 "$@" "${files[@]}"
