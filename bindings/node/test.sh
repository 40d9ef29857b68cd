#!/usr/bin/env bash
# The Node package's suite: installs the dev dependencies (@napi-rs/cli, TypeScript; npm, locally)
# when missing, builds the addon (a debug build, sharing the workspace's target/debug), and runs
# every node:test file.
# Needs Rust, Node >= 18 with npm, and V8 from ./scripts/bootstrap.sh.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x node_modules/.bin/napi ] || [ ! -x node_modules/.bin/tsc ] || [ ! -d node_modules/@types/node ]; then
  npm install --no-audit --no-fund --ignore-scripts
fi
node scripts/build.js
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
node --test --test-concurrency=1 test/*.test.js 2>&1 | tee "$log" || status=$?
printf 'node: %d passed, %d failed\n' "$(awk '/^# pass /{print $3}' "$log")" "$(awk '/^# fail /{print $3}' "$log")"
exit "$status"
