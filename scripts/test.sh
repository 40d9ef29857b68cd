#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests of all crates (engine, C ABI with the C
# example and C tests under AddressSanitizer, CLI end-to-end and the HTTP conformance corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
cargo build --workspace --all-targets
cargo test --workspace -- --test-threads=2
