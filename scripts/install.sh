#!/usr/bin/env bash
# Installs libworker for C, Zig and cgo hosts:
#
#   $prefix/lib/libworker.so.1        the shared library (soname = ABI major)
#   $prefix/lib/libworker.so          -> libworker.so.1, for -lworker
#   $prefix/lib/libworker.a           the static library
#   $prefix/lib/worker/libnode.so.108 V8, when it came from the project-local .deps/v8
#   $prefix/include/worker.h
#   $prefix/lib/pkgconfig/worker.pc   so `cc app.c $(pkg-config --cflags --libs worker)` works
#
# Usage: scripts/install.sh [--prefix DIR] [--profile release|debug] [--destdir DIR]
#   --prefix   where the files will live (default /usr/local); a relative path is taken from the
#              current directory
#   --profile  the cargo profile to build and install (default release)
#   --destdir  stage the files under DIR instead of / (for packaging); also read from $DESTDIR
#
# worker-ffi is built with cargo first (a no-op when it is up to date; CARGO_TARGET_DIR is
# honoured). Files whose source has not changed since the last install are left alone, so a
# repeated install into the same prefix costs about a second.
#
# libworker.so links libnode.so.108. When that library is not the system's (bootstrap.sh unpacked
# it into .deps/v8, whose path a build machine's layout decides), a copy goes to
# $prefix/lib/worker/ and the installed libworker.so gets the RUNPATH $ORIGIN/worker (set with
# patchelf, installed from apt if missing), so the installed tree is self-contained and
# relocatable. With a system libnode the RUNPATH is removed and the dynamic linker finds it.
# shellcheck disable=SC2016 # $ORIGIN and ${libdir} are literal text, for ld.so and pkg-config
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
profile=release
destdir=${DESTDIR:-}

die() {
  echo "install.sh: $*" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --profile) [ $# -ge 2 ] || die "--profile needs release or debug"; profile=$2; shift 2 ;;
    --profile=*) profile=${1#*=}; shift ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    -h|--help) sed -n '2,/^# shellcheck/{/^# shellcheck/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

case "$profile" in
  release) cargo_profile=(--release) ;;
  debug) cargo_profile=() ;;
  *) die "--profile must be release or debug, not '$profile'" ;;
esac
[ -n "$prefix" ] || die "--prefix must not be empty"
# The prefix is substituted into worker.pc with sed, whose special characters it must not hold.
case "$prefix" in *'|'*|*'&'*|*\\*) die "--prefix must not contain | & or \\" ;; esac
if [ -n "$destdir" ]; then
  # A staged install records the final prefix in worker.pc, so it must already be absolute.
  case "$prefix" in /*) ;; *) die "--prefix must be absolute with --destdir" ;; esac
  mkdir -p "$destdir"
  destdir=$(cd "$destdir" && pwd)
else
  mkdir -p "$prefix"
  prefix=$(cd "$prefix" && pwd)
fi
prefix=${prefix%/}
stage=$destdir$prefix

# --- build ---------------------------------------------------------------------------------
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target=$root/$target ;; esac
(cd "$root" && "${CARGO:-cargo}" build --quiet -p worker-ffi --lib "${cargo_profile[@]}")
built=$target/$profile
for f in libworker.so libworker.a; do
  [ -f "$built/$f" ] || die "cargo did not produce $built/$f"
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml")
[ -n "$version" ] || die "no version in [workspace.package] of $root/Cargo.toml"

# --- where libnode comes from --------------------------------------------------------------
# Resolved as at run time, without an LD_LIBRARY_PATH that could point at another copy.
libnode=$(env -u LD_LIBRARY_PATH ldd "$built/libworker.so" | awk '$1 == "libnode.so.108" { print $3 }')
case "$libnode" in
  /*) ;;
  *) die "libworker.so cannot find libnode.so.108 (V8): run scripts/bootstrap.sh" ;;
esac
libnode=$(readlink -f "$libnode")
# The system's copy is the one the dynamic linker finds without any RUNPATH.
system_libnode=$(/sbin/ldconfig -p 2>/dev/null | awk '$1 == "libnode.so.108" { print $NF; exit }')
if [ -n "$system_libnode" ] && [ "$(readlink -f "$system_libnode")" = "$libnode" ]; then
  bundle=0
else
  bundle=1
fi

if ! command -v patchelf >/dev/null 2>&1; then
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  echo "install.sh: installing patchelf (apt) to set libworker's RUNPATH" >&2
  "${sudo_cmd[@]}" apt-get install -y -qq patchelf >/dev/null 2>&1 \
    || { "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y -qq patchelf; }
fi

# --- copy ----------------------------------------------------------------------------------
changed=0

# Whether $2 was installed from $1 as it is now: every install stamps the copy with the source's
# modification time, and a rebuild always moves that time.
fresh() {
  [ -e "$2" ] && [ "$(stat -c %.9Y "$1")" = "$(stat -c %.9Y "$2")" ]
}

# Installs $1 as $2 (mode $3), then runs the optional command "$4 <file>" on the copy before it
# replaces the old one. The old file is renamed over, never rewritten, so a process that has it
# mapped keeps running.
put() {
  local src=$1 dst=$2 mode=$3 fix=${4:-}
  if fresh "$src" "$dst"; then return; fi
  mkdir -p "$(dirname "$dst")"
  local tmp
  tmp=$(mktemp "$dst.XXXXXX")
  cp "$src" "$tmp"
  [ -z "$fix" ] || "$fix" "$tmp"
  chmod "$mode" "$tmp"
  touch -r "$src" "$tmp"
  mv -f "$tmp" "$dst"
  echo "installed $dst"
  changed=1
}

set_runpath() {
  if [ "$bundle" = 1 ]; then
    patchelf --set-rpath '$ORIGIN/worker' "$1"
  else
    patchelf --remove-rpath "$1"
  fi
}

put "$built/libworker.so" "$stage/lib/libworker.so.1" 755 set_runpath
if [ "$(readlink "$stage/lib/libworker.so" 2>/dev/null)" != libworker.so.1 ]; then
  ln -sfn libworker.so.1 "$stage/lib/libworker.so"
  echo "installed $stage/lib/libworker.so -> libworker.so.1"
  changed=1
fi
put "$built/libworker.a" "$stage/lib/libworker.a" 644
put "$root/include/worker.h" "$stage/include/worker.h" 644

if [ "$bundle" = 1 ]; then
  put "$libnode" "$stage/lib/worker/libnode.so.108" 644
  v8libdir='${libdir}/worker'
  v8link='-L${v8libdir} -Wl,-rpath,${v8libdir} -l:libnode.so.108 '
else
  rm -f "$stage/lib/worker/libnode.so.108"
  rmdir "$stage/lib/worker" 2>/dev/null || true
  v8libdir=$(dirname "$libnode")
  v8link='-l:libnode.so.108 '
fi

# Programs linked against a prefix the dynamic linker does not search need the path recorded.
case "$prefix" in
  /usr) rpath='' ;;
  *) rpath='-Wl,-rpath,${libdir} ' ;;
esac

pc=$stage/lib/pkgconfig/worker.pc
mkdir -p "$(dirname "$pc")"
pc_tmp=$(mktemp "$pc.XXXXXX")
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@RPATH@|$rpath|" \
    -e "s|@V8LIBDIR@|$v8libdir|" -e "s|@V8LINK@|$v8link|" "$root/ffi/worker.pc.in" > "$pc_tmp"
if cmp -s "$pc_tmp" "$pc"; then
  rm -f "$pc_tmp"
else
  chmod 644 "$pc_tmp"
  mv -f "$pc_tmp" "$pc"
  echo "installed $pc"
  changed=1
fi

if [ "$changed" = 0 ]; then
  echo "libworker $version ($profile) in $stage is up to date"
else
  echo "libworker $version ($profile) installed in $stage"
fi
