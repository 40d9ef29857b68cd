#!/usr/bin/env bash
# Builds and tests the Go package (libworker.dev/worker) against this checkout's libworker:
# go vet, then the whole suite (conformance corpus, Go stores, concurrency) under the race
# detector. Installs what is missing (Debian's golang-go where no Go is found, pkg-config), and
# builds libworker.so unless scripts/test.sh already did. Exits non-zero on any failure.
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

# The library: scripts/test.sh builds the workspace first; build it here when run alone.
if [ ! -f "$root/target/debug/libworker.so" ]; then
  (cd "$root" && ./scripts/bootstrap.sh && cargo build -p worker-ffi)
fi

# pkg-config finds libworker as an installed copy would be found: through worker.pc. Stage an
# install when scripts/install.sh exists; otherwise describe the checkout's build directly.
if [ -x "$root/scripts/install.sh" ]; then
  stage="$root/target/stage"
  "$root/scripts/install.sh" --prefix "$stage" >/dev/null
  pcdir=$(dirname "$(find "$stage" -name worker.pc | head -n1)")
  libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=libdir worker)
else
  pcdir="$root/target/go-pkgconfig"
  libdir="$root/target/debug"
  mkdir -p "$pcdir"
  cat >"$pcdir/worker.pc" <<PC
Name: worker
Description: libworker, the JavaScript worker runtime (this checkout's debug build)
Version: 0.1.0
Cflags: -I$root/include
Libs: -L$libdir -lworker
PC
  # The soname is libworker.so.1; cargo only writes libworker.so.
  ln -sf libworker.so "$libdir/libworker.so.1"
fi
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# Test binaries find the library through an rpath, as an application would set one.
export CGO_LDFLAGS="-Wl,-rpath,$libdir ${CGO_LDFLAGS:-}"
export CGO_ENABLED=1

go version
go vet ./...
go test -race -count=1 ./...
