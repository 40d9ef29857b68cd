#!/usr/bin/env bash
# libworker benchmarks. Builds in release mode and runs them; prints figures, never fails on a goal.
#
#   benches/run.sh [all|latency|cold|memory|serve|kv|lang] [ARGS...]
#
# ARGS go to the benchmark binary (latency/cold/memory; see `--help` of each). For `serve`,
# settings come from the environment:
#   WRK_THREADS (2)  WRK_CONNS (50)  DURATION seconds per measurement (10)  WARMUP seconds (2)
#   ROUNDS (2)       alternating wk / Deno measurements per server, to spread machine noise
#   PIN (0)          1 = servers on CPU 0, wrk on CPU 1 (taskset), to keep them off each other's core
#   WK               path of the wk binary (default target/release/wk, built here)
#   WK_ARGS          extra flags for `wk serve` (--quiet is passed when wk has it)
#   DENO             path of a deno binary (default: npm-installed into target/bench-peers/)
#   WORKER           worker file for wk (default: a temp file with the same hello as the Deno one)
#   WORKERD          path of a workerd binary for `kv` (default: npm-installed into target/bench-peers/)
#   EXAMPLE (1)      also measure `wk serve --config examples/workers/hello/wrangler.jsonc` (an
#                    extra row, not in the ratio: that worker parses the URL and reads env)
# `lang`: a warm hello execute from Rust, Python, Node and Go (release builds of each package),
# ROUNDS (3) alternating rounds of CALLS (20000) sequential calls each, and each language's
# median over the Rust median; the goal is <= 2x.
# Servers listen on 127.0.0.1 only and are killed on exit, whatever happens.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
what=${1:-all}
[ $# -gt 0 ] && shift

case "$what" in
  all | latency | cold | memory | serve | kv | lang) ;;
  -h | --help | help)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 0
    ;;
  *)
    echo "usage: benches/run.sh [all|latency|cold|memory|serve|kv|lang] [ARGS...]" >&2
    exit 2
    ;;
esac

log() { printf '\n### %s\n' "$*"; }

build() {
  local pkgs=(-p worker-benches)
  case "$what" in serve | kv | all) [ -z "${WK:-}" ] && pkgs+=(-p worker-cli) ;; esac
  log "cargo build --release ${pkgs[*]}"
  cargo build --release "${pkgs[@]}"
}

bin() { "$ROOT/target/release/$1" "${@:2}"; }

# ---------------------------------------------------------------------------------------------
# serve: wk serve vs Deno.serve under wrk
# ---------------------------------------------------------------------------------------------
TMP=""
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  sleep 0.2
  for p in "${PIDS[@]}"; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
  [ -n "$TMP" ] && rm -rf "$TMP"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

ensure_wrk() {
  command -v wrk >/dev/null && return 0
  echo "wrk not found; installing Debian's wrk with apt-get" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null 2>&1 ||
    { as_root apt-get update >/dev/null 2>&1 &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null 2>&1; } ||
    { echo "cannot install wrk (apt-get install wrk)" >&2; return 1; }
}

find_deno() {
  if [ -n "${DENO:-}" ]; then echo "$DENO"; return 0; fi
  local peers="$ROOT/target/bench-peers" c
  for c in "$peers/node_modules/deno/deno" "$peers/node_modules/@deno/linux-x64-glibc/deno"; do
    [ -x "$c" ] && { echo "$c"; return 0; }
  done
  echo "installing deno from npm into $peers" >&2
  mkdir -p "$peers"
  timeout 600 npm install --no-audit --no-fund --prefix "$peers" deno >&2 || return 1
  for c in "$peers/node_modules/deno/deno" "$peers/node_modules/@deno/linux-x64-glibc/deno"; do
    [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

# The worker wk serves for the ratio: the same hello as the Deno script, unless WORKER is set.
find_worker() {
  if [ -n "${WORKER:-}" ]; then echo "$WORKER"; return 0; fi
  printf 'export default { fetch() { return new Response("hello") } }\n' >"$TMP/hello-worker.js"
  echo "$TMP/hello-worker.js"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p=$1
  while port_in_use "$p"; do p=$((p + 1)); done
  echo "$p"
}

# wait_http PORT PID: until the server answers (30 s at most) or dies.
wait_http() {
  local i
  for i in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || return 1
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  return 1
}

# forget PID: drop a reaped pid from PIDS so cleanup never signals a recycled pid.
forget() {
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

stop_server() {
  kill "$1" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}

# bg_wait CMD...: runs CMD in the background and waits for it, so a signal reaches the traps at
# once instead of after CMD ends; the EXIT trap kills CMD too.
bg_wait() {
  "$@" &
  local pid=$!
  PIDS+=("$pid")
  wait "$pid" || true
  forget "$pid"
}

# measure NAME PORT: wrk warm-up, then a measured run; prints "req/s p50 p99 errors".
measure() {
  local port=$2 pin=()
  [ "${PIN:-0}" = 1 ] && pin=(taskset -c 1)
  local url="http://127.0.0.1:$port/" out="$TMP/wrk-$1-$(date +%s%N).txt"
  bg_wait timeout $((WARMUP + 20)) "${pin[@]}" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" \
    -d"${WARMUP}s" "$url" >/dev/null 2>&1
  bg_wait timeout $((DURATION + 30)) "${pin[@]}" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" \
    -d"${DURATION}s" --latency "$url" >"$out" 2>&1
  local rps p50 p99 errs
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  errs=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
  echo "${rps:-0} ${p50:--} ${p99:--} ${errs:-?}"
}

# run_server NAME PORT EXPECT CMD...: start, check the body starts with EXPECT, measure, stop. Leaves the measure line in
# $TMP/result. Not run in a subshell, so the EXIT trap knows every server pid.
run_server() {
  local name=$1 port=$2 expect=$3
  shift 3
  local pin=()
  [ "${PIN:-0}" = 1 ] && pin=(taskset -c 0)
  "${pin[@]}" "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  if ! wait_http "$port" "$pid"; then
    echo "$name did not start on 127.0.0.1:$port; its output:" >&2
    sed 's/^/  /' "$TMP/$name.log" >&2
    stop_server "$pid"
    return 1
  fi
  local body
  body=$(curl -s --max-time 2 "http://127.0.0.1:$port/" || true)
  if [ "${body#"$expect"}" = "$body" ]; then
    echo "$name answered '$body', expected '$expect'" >&2
  fi
  measure "$name" "$port" >"$TMP/result"
  stop_server "$pid"
}

serve_bench() {
  WRK_THREADS=${WRK_THREADS:-2}
  WRK_CONNS=${WRK_CONNS:-50}
  DURATION=${DURATION:-10}
  WARMUP=${WARMUP:-2}
  ROUNDS=${ROUNDS:-2}
  TMP=$(mktemp -d /tmp/wk-bench.XXXXXX)
  ensure_wrk
  local wk=${WK:-$ROOT/target/release/wk}
  if [ ! -x "$wk" ]; then
    echo "no wk binary at $wk (cargo build --release -p worker-cli)" >&2
    return 1
  fi
  local deno=""
  deno=$(find_deno) || { echo "Deno unavailable: measuring wk alone" >&2; deno=""; }
  local worker
  worker=$(find_worker)
  # Deno.serve prints nothing per request; give wk the same chance (its per-request log line
  # is on by default, as with wrangler dev). WK_ARGS adds flags, e.g. WK_ARGS="--threads 1".
  local wk_args=()
  "$wk" serve --help 2>/dev/null | grep -q -- '--quiet' && wk_args+=(--quiet)
  read -r -a extra <<<"${WK_ARGS:-}"
  wk_args+=("${extra[@]}")
  cat >"$TMP/deno-hello.js" <<'EOF'
const port = Number(Deno.args[0]);
Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, () => new Response("hello"));
EOF
  export DENO_DIR="$ROOT/target/bench-peers/deno-dir" DENO_NO_UPDATE_CHECK=1

  log "serve: wrk -t$WRK_THREADS -c$WRK_CONNS -d${DURATION}s (after ${WARMUP}s warm-up), $ROUNDS round(s), PIN=${PIN:-0}"
  echo "wk:     $wk serve $worker ${wk_args[*]}"
  [ -n "$deno" ] && echo "deno:   $deno run --allow-net deno-hello.js ($("$deno" --version | head -1))"
  printf '%-10s %5s %12s %10s %10s %7s\n' server round req/s p50 p99 errors
  local r wk_sum=0 deno_sum=0 ex_sum=0 wk_n=0 deno_n=0 ex_n=0 port rps p50 p99 errs
  local example="$ROOT/examples/workers/hello/wrangler.jsonc"
  for r in $(seq 1 "$ROUNDS"); do
    port=$(free_port 18787)
    if run_server wk "$port" hello "$wk" serve "$worker" --ip 127.0.0.1 --port "$port" "${wk_args[@]}"; then
      read -r rps p50 p99 errs <"$TMP/result"
      printf '%-10s %5s %12s %10s %10s %7s\n' wk "$r" "$rps" "$p50" "$p99" "$errs"
      wk_sum=$(awk -v a="$wk_sum" -v b="$rps" 'BEGIN {print a + b}'); wk_n=$((wk_n + 1))
    fi
    if [ "${EXAMPLE:-1}" = 1 ] && [ -f "$example" ]; then
      port=$(free_port 18787)
      if run_server wk-example "$port" Hello "$wk" serve --config "$example" --ip 127.0.0.1 \
        --port "$port" "${wk_args[@]}"; then
        read -r rps p50 p99 errs <"$TMP/result"
        printf '%-10s %5s %12s %10s %10s %7s\n' wk-example "$r" "$rps" "$p50" "$p99" "$errs"
        ex_sum=$(awk -v a="$ex_sum" -v b="$rps" 'BEGIN {print a + b}'); ex_n=$((ex_n + 1))
      fi
    fi
    if [ -n "$deno" ]; then
      port=$(free_port 18887)
      if run_server deno "$port" hello "$deno" run --allow-net "$TMP/deno-hello.js" "$port"; then
        read -r rps p50 p99 errs <"$TMP/result"
        printf '%-10s %5s %12s %10s %10s %7s\n' deno "$r" "$rps" "$p50" "$p99" "$errs"
        deno_sum=$(awk -v a="$deno_sum" -v b="$rps" 'BEGIN {print a + b}'); deno_n=$((deno_n + 1))
      fi
    fi
  done
  echo
  echo "== serve_throughput: wk serve hello vs Deno.serve hello (loopback, same run) =="
  local wk_mean=0 deno_mean=0
  [ "$wk_n" -gt 0 ] && wk_mean=$(awk -v s="$wk_sum" -v n="$wk_n" 'BEGIN {printf "%.0f", s / n}')
  [ "$deno_n" -gt 0 ] && deno_mean=$(awk -v s="$deno_sum" -v n="$deno_n" 'BEGIN {printf "%.0f", s / n}')
  printf '%-28s %12s  %s\n' metric measured goal
  printf '%-28s %12s  %s\n' "wk serve req/s (mean)" "$wk_mean" ""
  printf '%-28s %12s  %s\n' "Deno.serve req/s (mean)" "${deno_mean}" ""
  if [ "$ex_n" -gt 0 ]; then
    printf '%-28s %12s  %s\n' "wk examples/hello req/s" \
      "$(awk -v s="$ex_sum" -v n="$ex_n" 'BEGIN {printf "%.0f", s / n}')" ""
  fi
  if [ "$wk_n" -gt 0 ] && [ "$deno_n" -gt 0 ] && [ "$deno_mean" != 0 ]; then
    local ratio verdict
    ratio=$(awk -v a="$wk_mean" -v b="$deno_mean" 'BEGIN {printf "%.2f", a / b}')
    verdict=$(awk -v r="$ratio" 'BEGIN {print (r > 1.0) ? "met" : "MISSED"}')
    printf '%-28s %12s  %s\n' "ratio wk / Deno" "${ratio}x" "> 1.00x  $verdict"
  else
    printf '%-28s %12s  %s\n' "ratio wk / Deno" "n/a" "> 1.00x"
  fi
  cleanup
}

# ---------------------------------------------------------------------------------------------
# kv: KV get through wk serve (embedded SQLite store) vs workerd's kvNamespace binding
# ---------------------------------------------------------------------------------------------
find_workerd() {
  if [ -n "${WORKERD:-}" ]; then echo "$WORKERD"; return 0; fi
  local peers="$ROOT/target/bench-peers"
  local bin="$peers/node_modules/@cloudflare/workerd-linux-64/bin/workerd"
  if [ ! -x "$bin" ]; then
    echo "installing workerd from npm into $peers" >&2
    mkdir -p "$peers"
    timeout 600 npm install --no-audit --no-fund --prefix "$peers" workerd >&2 || return 1
  fi
  [ -x "$bin" ] && echo "$bin"
}

# Both servers run this worker: one KV get per request of a 100-byte value (put on first use).
write_kv_worker() {
  cat >"$1/worker.js" <<'EOF'
const VALUE = "x".repeat(100);
export default {
  async fetch(request, env) {
    let value = await env.KV.get("bench-key");
    if (value === null) {
      await env.KV.put("bench-key", VALUE);
      value = VALUE;
    }
    return new Response(value);
  },
};
EOF
}

# workerd's KV binding speaks HTTP to a service; the smallest one keeps values in a Map, so
# workerd's figure is its binding machinery with no storage cost at all.
write_workerd_kv() {
  cat >"$1/kvmem.js" <<'EOF'
const values = new Map();
export default {
  async fetch(request) {
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    if (request.method === "PUT") {
      values.set(key, await request.text());
      return new Response(null);
    }
    const value = values.get(key);
    return value === undefined ? new Response(null, { status: 404 }) : new Response(value);
  },
};
EOF
  cat >"$1/config.capnp" <<'EOF'
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .main), (name = "kvmem", worker = .kvmem)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const main :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2024-09-23",
  bindings = [(name = "KV", kvNamespace = "kvmem")],
);
const kvmem :Workerd.Worker = (
  modules = [(name = "kvmem.js", esModule = embed "kvmem.js")],
  compatibilityDate = "2024-09-23",
);
EOF
}

kv_bench() {
  WRK_THREADS=${WRK_THREADS:-2}
  WRK_CONNS=${WRK_CONNS:-50}
  DURATION=${DURATION:-10}
  WARMUP=${WARMUP:-2}
  ROUNDS=${ROUNDS:-2}
  TMP=$(mktemp -d /tmp/wk-bench.XXXXXX)
  ensure_wrk
  local wk=${WK:-$ROOT/target/release/wk}
  [ -x "$wk" ] || { echo "no wk binary at $wk (cargo build --release -p worker-cli)" >&2; return 1; }
  local workerd=""
  workerd=$(find_workerd) || { echo "workerd unavailable: measuring wk alone" >&2; workerd=""; }

  mkdir -p "$TMP/wk" "$TMP/workerd"
  write_kv_worker "$TMP/wk"
  write_kv_worker "$TMP/workerd"
  write_workerd_kv "$TMP/workerd"
  cat >"$TMP/wk/wrangler.jsonc" <<'EOF'
{ "name": "kv-bench", "main": "worker.js", "kv_namespaces": [{ "binding": "KV", "id": "bench" }] }
EOF
  local wk_args=(--quiet)
  read -r -a extra <<<"${WK_ARGS:-}"
  wk_args+=("${extra[@]}")

  log "kv: wrk -t$WRK_THREADS -c$WRK_CONNS -d${DURATION}s (after ${WARMUP}s warm-up), $ROUNDS round(s), PIN=${PIN:-0}"
  echo "wk:      $wk serve --config wrangler.jsonc ${wk_args[*]} (kv_namespaces -> embedded SQLite)"
  [ -n "$workerd" ] && echo "workerd: $workerd serve config.capnp (kvNamespace -> in-memory worker; $("$workerd" --version))"
  printf '%-10s %5s %12s %10s %10s %7s\n' server round req/s p50 p99 errors
  local r wk_sum=0 wd_sum=0 wk_n=0 wd_n=0 port rps p50 p99 errs wk_p99=""
  for r in $(seq 1 "$ROUNDS"); do
    port=$(free_port 18787)
    rm -rf "$TMP/wk/state"
    if run_server wk "$port" xxxx "$wk" serve --config "$TMP/wk/wrangler.jsonc" \
      --state-dir "$TMP/wk/state" --ip 127.0.0.1 --port "$port" "${wk_args[@]}"; then
      read -r rps p50 p99 errs <"$TMP/result"
      printf '%-10s %5s %12s %10s %10s %7s\n' wk "$r" "$rps" "$p50" "$p99" "$errs"
      wk_sum=$(awk -v a="$wk_sum" -v b="$rps" 'BEGIN {print a + b}'); wk_n=$((wk_n + 1))
      wk_p99="$wk_p99 $p99"
    fi
    if [ -n "$workerd" ]; then
      port=$(free_port 18887)
      if run_server workerd "$port" xxxx "$workerd" serve "$TMP/workerd/config.capnp" \
        --socket-addr "http=127.0.0.1:$port"; then
        read -r rps p50 p99 errs <"$TMP/result"
        printf '%-10s %5s %12s %10s %10s %7s\n' workerd "$r" "$rps" "$p50" "$p99" "$errs"
        wd_sum=$(awk -v a="$wd_sum" -v b="$rps" 'BEGIN {print a + b}'); wd_n=$((wd_n + 1))
      fi
    fi
  done
  echo
  echo "== kv_get: wk serve + embedded KV vs workerd + kvNamespace (loopback, same run) =="
  local wk_mean=0 wd_mean=0
  [ "$wk_n" -gt 0 ] && wk_mean=$(awk -v s="$wk_sum" -v n="$wk_n" 'BEGIN {printf "%.0f", s / n}')
  [ "$wd_n" -gt 0 ] && wd_mean=$(awk -v s="$wd_sum" -v n="$wd_n" 'BEGIN {printf "%.0f", s / n}')
  printf '%-28s %12s  %s\n' metric measured goal
  printf '%-28s %12s  %s\n' "wk req/s (mean)" "$wk_mean" ""
  printf '%-28s %12s  %s\n' "workerd req/s (mean)" "$wd_mean" ""
  printf '%-28s %12s  %s\n' "wk p99 per round" "${wk_p99# }" "<= 5ms"
  if [ "$wk_n" -gt 0 ] && [ "$wd_n" -gt 0 ] && [ "$wd_mean" != 0 ]; then
    local ratio verdict
    ratio=$(awk -v a="$wk_mean" -v b="$wd_mean" 'BEGIN {printf "%.2f", a / b}')
    verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 4.0) ? "met" : "MISSED"}')
    printf '%-28s %12s  %s\n' "ratio wk / workerd" "${ratio}x" ">= 4.00x  $verdict"
  else
    printf '%-28s %12s  %s\n' "ratio wk / workerd" "n/a" ">= 4.00x"
  fi
  cleanup
}

# ---------------------------------------------------------------------------------------------
# lang: the language packages' overhead over the Rust API
# ---------------------------------------------------------------------------------------------
LANG_CMDS=()
# Release builds of each package, each printing `hello_execute <lang> <µs per call>`.
prepare_lang() {
  log "release builds of the language packages"
  cargo build --release -p worker-benches --bin hello_execute
  LANG_CMDS=("$ROOT/target/release/hello_execute")

  local venv=$ROOT/target/bench-python-venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import maturin' 2>/dev/null || "$venv/bin/python" -m pip install -q 'maturin>=1.5,<2'
  (cd bindings/python && VIRTUAL_ENV=$venv PATH="$venv/bin:$PATH" maturin develop --release --quiet)
  LANG_CMDS+=("$venv/bin/python $ROOT/benches/lang/hello.py")

  (cd bindings/node && { [ -x node_modules/.bin/napi ] || npm install --no-audit --no-fund --ignore-scripts; } &&
    node scripts/build.js --release)
  LANG_CMDS+=("node $ROOT/benches/lang/hello.mjs")

  local stage=$ROOT/target/stage-release
  ./scripts/install.sh --prefix "$stage" --profile release >/dev/null
  (cd bindings/go && PKG_CONFIG_PATH=$stage/lib/pkgconfig CGO_ENABLED=1 \
    go build -o "$ROOT/target/release/hellobench-go" ./cmd/hellobench)
  LANG_CMDS+=("$ROOT/target/release/hellobench-go")
}

lang_bench() {
  local rounds=${ROUNDS:-3} calls=${CALLS:-20000} r cmd line
  prepare_lang
  log "lang: warm hello execute, $rounds round(s) of $calls sequential calls, alternating"
  TMP=$(mktemp -d /tmp/wk-bench.XXXXXX)
  for r in $(seq 1 "$rounds"); do
    for cmd in "${LANG_CMDS[@]}"; do
      line=$($cmd "$calls") || { echo "failed: $cmd" >&2; return 1; }
      echo "round $r: $line"
      echo "$line" >>"$TMP/lang"
    done
  done
  echo
  echo "== hello execute: µs per call (median of rounds), ratio to Rust =="
  awk '
    { v[$2] = v[$2] " " $3; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
    function median(s,   a, k, i, j, t) {
      k = split(s, a, " ")
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END {
      base = median(v["rust"])
      printf "%-8s %10s %8s  %s\n", "lang", "µs/call", "ratio", "goal"
      for (i = 1; i <= n; i++) {
        m = median(v[order[i]]); ratio = m / base
        goal = (order[i] == "rust") ? "" : ((ratio <= 2.0) ? "<= 2x  met" : "<= 2x  MISSED")
        printf "%-8s %10.2f %7.2fx  %s\n", order[i], m, ratio, goal
      }
    }' "$TMP/lang"
  cleanup
}

# ---------------------------------------------------------------------------------------------
[ "$what" = lang ] || build
case "$what" in
  latency) bin execute_latency "$@" ;;
  cold) bin cold_start "$@" ;;
  memory) bin memory_per_worker "$@" ;;
  serve) serve_bench ;;
  kv) kv_bench ;;
  lang) lang_bench ;;
  all)
    log "execute_latency"; bin execute_latency
    log "cold_start"; bin cold_start
    log "memory_per_worker"; bin memory_per_worker
    serve_bench
    kv_bench
    lang_bench
    ;;
esac
