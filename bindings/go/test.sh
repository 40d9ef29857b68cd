#!/usr/bin/env bash
# Builds and tests the Go package (libworker.dev/worker) against this checkout's libworker:
# go vet, then the whole suite (conformance corpus, Go stores, concurrency) under the race
# detector. Installs what is missing (Debian's golang-go where no Go is found, pkg-config).
# Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
need=()
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="$PATH:/usr/local/go/bin"
  else
    need+=(golang-go)
  fi
fi
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
if [ "${#need[@]}" -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}"
fi

# pkg-config finds libworker as an installed copy would be found: through worker.pc of an
# install staged from this checkout's debug build (quick when nothing changed).
stage="$root/target/stage"
"$root/scripts/install.sh" --prefix "$stage" --profile debug >/dev/null
pcdir="$stage/lib/pkgconfig"
libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=libdir worker)
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# Test binaries find the library through an rpath, as an application would set one.
export CGO_LDFLAGS="-Wl,-rpath,$libdir ${CGO_LDFLAGS:-}"
export CGO_ENABLED=1

go version
go vet ./...
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -race -count=1 -v ./... >"$log" 2>&1 || status=$?
grep -E '^(ok|FAIL|---|panic:)|^\s+\S+_test\.go:' "$log" || true
# Top-level tests only (subtests are indented).
printf 'go: %d passed, %d failed\n' "$(grep -c '^--- PASS' "$log")" "$(grep -c '^--- FAIL' "$log")"
exit "$status"
