'use strict'
// The README's examples run as written (with the package name pointed at this checkout).
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { pathToFileURL } = require('node:url')

const PKG = path.join(__dirname, '..')
const readme = fs.readFileSync(path.join(PKG, 'README.md'), 'utf8')

/** The first ```js block after `heading`. */
function block(heading) {
  const at = readme.indexOf(heading)
  assert.ok(at >= 0, `README has ${heading}`)
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at))
  return m[1]
}

function runModule(code) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-node-readme-'))
  try {
    const file = path.join(dir, 'main.mjs')
    const entry = JSON.stringify(pathToFileURL(path.join(PKG, 'index.mjs')).href)
    fs.writeFileSync(file, code.replaceAll("'worker-runtime'", entry))
    const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
    return { status: r.status, out: r.stdout + r.stderr }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

test('the README example prints what its comment says', () => {
  const r = runModule(block('## Example'))
  assert.equal(r.status, 0, r.out)
  assert.equal(r.out.trim(), "200 { hello: 'Node', visits: 1, path: '/hi' }")
})

test('the README KV store is under 20 lines and serves a worker', () => {
  const code = block('## A KV store in JavaScript')
  assert.ok(code.trim().split('\n').length < 20, 'the KV store example is under 20 lines')
  const driver = `
import { Engine, Env } from 'worker-runtime'
${code}
const engine = new Engine({ poolSize: 1 }, { sourceLoader: () => \`export default { async fetch(req, env) {
  await env.MY_KV.put('b', 'two', { metadata: { m: 1 } })
  await env.MY_KV.put('a', 'one', { expirationTtl: 3600 })
  await env.MY_KV.put('c', 'three')
  const first = await env.MY_KV.list({ limit: 2 })
  const rest = await env.MY_KV.list({ cursor: first.cursor })
  await env.MY_KV.delete('c')
  return Response.json({ a: await env.MY_KV.get('a'), meta: (await env.MY_KV.getWithMetadata('b')).metadata,
    first: first.keys.map((k) => k.name), complete: first.list_complete, rest: rest.keys.map((k) => k.name),
    expires: typeof first.keys[0].expiration, c: await env.MY_KV.get('c') })
} }\` })
const res = await engine.execute('kv', 'v1', env, 'https://example.com/')
console.log(JSON.stringify(res.json()))
await engine.close()`
  const r = runModule(driver)
  assert.equal(r.status, 0, r.out)
  assert.deepEqual(JSON.parse(r.out), {
    a: 'one', meta: { m: 1 }, first: ['a', 'b'], complete: false, rest: ['c'], expires: 'number', c: null,
  })
})

test('the README queue example prints what its comments say', () => {
  const r = runModule(block('## Queues'))
  assert.equal(r.status, 0, r.out)
  assert.equal(r.out.trim(), "[\n  { ack: true, retryDelaySeconds: null },\n  { ack: false, retryDelaySeconds: 60 }\n]\n[ 'did email' ]")
})
