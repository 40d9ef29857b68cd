#!/usr/bin/env bash
# Sets everything up, builds `wk`, serves the example worker on loopback and prints a response.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
cargo build --release -p worker-cli
wk=target/release/wk
example=examples/workers/hello
port=${PORT:-8787}

"$wk" serve --config "$example/wrangler.jsonc" --port "$port" >/tmp/wk-demo.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" /tmp/wk-demo.log 2>/dev/null && break
  sleep 0.1
done
cat /tmp/wk-demo.log
echo "--- GET http://127.0.0.1:$port/ ---"
python3 - "$port" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/") as r:
    print(r.status, r.reason)
    for k, v in r.getheaders():
        print(f"{k}: {v}")
    print()
    print(r.read().decode())
PY
