#!/usr/bin/env bash
# Builds the Zig example with `zig build`, runs it and checks what it prints.
#
#   examples/zig/run.sh                      # against the repo: include/ + target/debug
#   examples/zig/run.sh --profile release    # ... target/release
#   examples/zig/run.sh --libworker PREFIX   # against an install made by scripts/install.sh
#
# Zig comes from PyPI's `ziglang` package, installed once into a venv under target/. Zig keeps
# its compiled standard library and build runner in its global cache (~/.cache/zig), so only
# the first build on a machine is slow (a few minutes); later ones take seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
zig_version=0.17.0
profile=debug
prefix=

die() {
  echo "run.sh: $*" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --profile) [ $# -ge 2 ] || die "--profile needs debug or release"; profile=$2; shift 2 ;;
    --libworker) [ $# -ge 2 ] || die "--libworker needs an install prefix"; prefix=$2; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
case "$profile" in
  debug) cargo_profile=() ;;
  release) cargo_profile=(--release) ;;
  *) die "--profile must be debug or release, not '$profile'" ;;
esac

# --- Zig ---------------------------------------------------------------------------------
venv=$root/target/tools/ziglang
if [ "$("$venv/bin/python" -m ziglang version 2>/dev/null)" != "$zig_version" ]; then
  echo "run.sh: installing ziglang $zig_version from PyPI into $venv" >&2
  if ! python3 -m venv --clear "$venv" >/dev/null 2>&1; then
    # Debian's python3 creates venvs only with python3-venv installed.
    sudo_cmd=()
    [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get install -y -qq python3-venv >/dev/null 2>&1 \
      || { "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y -qq python3-venv; }
    python3 -m venv --clear "$venv"
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "ziglang==$zig_version"
fi
zig=("$venv/bin/python" -m ziglang)

# --- libworker -----------------------------------------------------------------------------
build_args=(--cache-dir "$root/target/zig-example-cache")
if [ -n "$prefix" ]; then
  prefix=$(cd "$prefix" && pwd)
  [ -f "$prefix/include/worker.h" ] || die "no include/worker.h in $prefix (run scripts/install.sh)"
  build_args+=("-Dlibworker=$prefix")
else
  (cd "$root" && "${CARGO:-cargo}" build --quiet -p worker-ffi --lib "${cargo_profile[@]}")
  # libworker.so's soname is libworker.so.1; the loader looks for that name.
  ln -sfn libworker.so "$root/target/$profile/libworker.so.1"
  build_args+=("-Dprofile=$profile")
fi

# --- build, run, check -----------------------------------------------------------------------
if ! actual=$(cd "$here" && "${zig[@]}" build run "${build_args[@]}"); then
  echo "zig: 0 passed, 1 failed (the build or the program failed)"
  exit 1
fi
expected='GET /?name=ada -> 200
{"visits":1,"value":"hello ada","metadata":{"by":"zig"},"greetings":["greeting:ada (expires: true)"]}
GET /?name=zig -> 200
{"visits":2,"value":"hello zig","metadata":{"by":"zig"},"greetings":["greeting:ada (expires: true)","greeting:zig (expires: true)"]}
GET /fill -> 507
{"stored":5,"error":"MY_KV is full: it holds at most 8 keys"}
the Zig store holds 3 keys'
if [ "$actual" != "$expected" ]; then
  echo "zig example: unexpected output" >&2
  diff <(echo "$expected") <(echo "$actual") >&2 || true
  echo "zig: 0 passed, 1 failed"
  exit 1
fi
echo "$actual"
echo "zig: 1 passed, 0 failed"
