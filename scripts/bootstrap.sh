#!/usr/bin/env bash
# Provides a V8 whose headers and library match (Debian's libnode108 + libnode-dev, V8 10.2),
# plus the runtime libraries libnode links against. Idempotent: a second run does nothing.
#
# Where `apt-get install libnode-dev` works, the system copy is used. Where it cannot be installed
# (for example because nodesource's nodejs package conflicts with Debian's libnode), the two .deb
# files are downloaded with `apt-get download` and unpacked into .deps/v8, which core/build.rs finds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prefix="$root/.deps/v8"
libdir_rel=usr/lib/x86_64-linux-gnu
case "$(uname -m)" in
  aarch64) libdir_rel=usr/lib/aarch64-linux-gnu ;;
esac

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=1
  fi
}

# Build tools: a C++ compiler for the shim, make/readelf for the C example and C ABI tests,
# valgrind where LeakSanitizer cannot run, pkg-config and patchelf for scripts/install.sh.
tools=()
command -v g++ >/dev/null 2>&1 || tools+=(g++)
command -v make >/dev/null 2>&1 || tools+=(make)
command -v readelf >/dev/null 2>&1 || tools+=(binutils)
command -v valgrind >/dev/null 2>&1 || tools+=(valgrind)
command -v pkg-config >/dev/null 2>&1 || tools+=(pkgconf)
command -v patchelf >/dev/null 2>&1 || tools+=(patchelf)
if [ "${#tools[@]}" -gt 0 ]; then
  apt_update_once
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${tools[@]}"
fi

# Runtime libraries libnode.so.108 needs (the local prefix carries libnode itself only).
runtime_libs=(libuv1 libc-ares2 libicu72 libnghttp2-14 libbrotli1 libssl3 zlib1g)
missing=()
for p in "${runtime_libs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_update_once
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

if [ -f /usr/include/node/v8-version.h ] && [ -e "/$libdir_rel/libnode.so.108" ] \
   && grep -q 'V8_MAJOR_VERSION 10' /usr/include/node/v8-version.h; then
  echo "bootstrap: using the system libnode (V8 10.2)"
  exit 0
fi

if [ -f "$prefix/usr/include/node/v8-version.h" ] && [ -e "$prefix/$libdir_rel/libnode.so.108" ]; then
  echo "bootstrap: V8 already unpacked in $prefix"
  exit 0
fi

echo "bootstrap: unpacking Debian's libnode108 + libnode-dev into $prefix"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  if ! apt-get download libnode108 libnode-dev >/dev/null 2>&1; then
    apt_update_once
    apt-get download libnode108 libnode-dev
  fi
)
rm -rf "$prefix.tmp"
mkdir -p "$prefix.tmp"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$prefix.tmp"
done
rm -rf "$prefix"
mv "$prefix.tmp" "$prefix"
echo "bootstrap: V8 $(grep -E 'define V8_(MAJOR|MINOR)_VERSION' "$prefix/usr/include/node/v8-version.h" | awk '{print $3}' | paste -sd.) ready in $prefix"
