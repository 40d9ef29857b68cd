#!/usr/bin/env bash
# Builds the Python package against this checkout and runs its pytest suite (the conformance
# corpus included). Idempotent: the venv under target/python-venv is reused, and pip installs
# maturin and pytest only when they are missing. Extra arguments go to pytest.
#
#   bindings/python/test.sh                      # everything
#   WK_CONFORMANCE=kv_list bindings/python/test.sh -k conformance
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="$root/target/python-venv"
python=${PYTHON:-python3}

# V8 (libnode) for worker-core; does nothing when it is already there.
"$root/scripts/bootstrap.sh" >/dev/null

if [ ! -x "$venv/bin/python" ]; then
  # Debian's python3 keeps venv support in a package of its own.
  if ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-venv
  fi
  "$python" -m venv "$venv"
fi
# shellcheck disable=SC1091
source "$venv/bin/activate"
python -c 'import maturin, pytest' >/dev/null 2>&1 \
  || python -m pip install -q 'maturin>=1.5,<2' 'pytest>=7'

# A debug build shares the workspace's target/debug artifacts, which scripts/test.sh's
# `cargo build --workspace` has already built.
(cd "$here" && maturin develop --quiet)
# Importing from outside the tree proves the extension finds libnode on its own.
(cd / && python -c 'import worker; worker.Engine.v8_version()')

cd "$here"
exec python -m pytest -q "$@"
