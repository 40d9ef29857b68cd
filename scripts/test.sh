#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests of all crates (engine, C ABI with the C
# example and C tests under AddressSanitizer, CLI end-to-end and the HTTP conformance corpus),
# then prints one summary line over all test binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
cargo build --workspace --all-targets
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace -- --test-threads=2 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { p += $4; f += $6 } END { printf "all: %d passed, %d failed\n", p, f }' \
  FS='[ ;]+' "$log"
exit "$status"
