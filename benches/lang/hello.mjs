// The Node package's overhead on a warm hello execute: one engine (default thread pool), 2000
// warm-up calls, then N sequential calls (argv, default 20000). Prints one line:
// `hello_execute node <µs per call>`. Run against a release addon:
// `node bindings/node/scripts/build.js --release` (benches/run.sh lang does it).
import { Engine } from '../../bindings/node/index.mjs'

const WARMUP = 2000
const n = process.argv[2] === undefined ? 20000 : Number(process.argv[2])
if (!Number.isInteger(n) || n <= 0) {
  console.error('usage: node benches/lang/hello.mjs [N]   (N sequential calls, default 20000)')
  process.exit(2)
}

const engine = new Engine({}, { sourceLoader: () => 'export default { fetch() { return new Response("hello") } }' })
const url = 'http://bench.local/'

async function call() {
  const r = await engine.execute('hello', 'v1', null, url)
  if (r.body.length !== 5 || r.text() !== 'hello') {
    console.error(`hello worker failed: ${r.status} ${r.text()}`)
    process.exit(1)
  }
}

for (let i = 0; i < WARMUP; i++) await call()
const started = process.hrtime.bigint()
for (let i = 0; i < n; i++) await call()
const us = Number(process.hrtime.bigint() - started) / 1e3 / n
console.log(`hello_execute node ${us.toFixed(2)}`)
await engine.close()
