#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests of all crates (engine, C ABI with the C
# example and C tests under AddressSanitizer, the install through pkg-config, CLI end-to-end and
# the conformance corpus through `wk serve` and the C ABI), then each language package's suite
# (Python, Node, Go; each runs the corpus too) and the Zig example. Prints one summary line per
# suite and fails if any suite failed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
cargo build --workspace --all-targets
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
summary=()

cargo test --workspace -- --test-threads=2 2>&1 | tee "$log" || status=$?
summary+=("$(awk '/^test result:/ { p += $4; f += $6 } END { printf "rust: %d passed, %d failed", p, f }' \
  FS='[ ;]+' "$log")")

# Each package's script installs what it needs, builds against this tree and prints its own
# `<name>: N passed, M failed` line last.
suites=(bindings/python/test.sh bindings/node/test.sh bindings/go/test.sh examples/zig/run.sh)
for suite in "${suites[@]}"; do
  echo
  echo "### $suite"
  if "./$suite" 2>&1 | tee "$log"; then
    summary+=("$(tail -n 1 "$log")")
  else
    status=1
    summary+=("$suite FAILED: $(tail -n 1 "$log")")
  fi
done

echo
printf '%s\n' "${summary[@]}"
exit "$status"
