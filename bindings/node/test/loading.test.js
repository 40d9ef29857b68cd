'use strict'
// Loading the package in plain node processes: require, import, and by name after
// `npm install <dir>`; and why the loader opens the addon with RTLD_DEEPBIND.
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { pathToFileURL } = require('node:url')

const PKG = path.join(__dirname, '..')
const WORKER = 'export default { fetch(req, env) { return new Response(`hi ${env.WHO} from V8 ${navigator.userAgent ? 1 : 0}`) } }'

function node(args, cwd = PKG) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, signal: r.signal, out: (r.stdout ?? '') + (r.stderr ?? '') }
}

const script = (imp) => `${imp}
const engine = new Engine({ poolSize: 1 }, { sourceLoader: () => ${JSON.stringify(WORKER)} })
engine.execute('s', 'v1', { vars: { WHO: 'node' } }, 'https://example.com/')
  .then((r) => { console.log(r.text()); return engine.close() })`

test('require() works in a plain node process and runs a worker', () => {
  const r = node(['-e', script(`const { Engine } = require(${JSON.stringify(PKG)})`)])
  assert.equal(r.status, 0, r.out)
  assert.equal(r.out.trim(), 'hi node from V8 1')
})

test('import works in a plain node process and runs a worker', () => {
  const url = pathToFileURL(path.join(PKG, 'index.mjs')).href
  const r = node(['--input-type=module', '-e', script(`import { Engine } from ${JSON.stringify(url)}`)])
  assert.equal(r.status, 0, r.out)
  assert.equal(r.out.trim(), 'hi node from V8 1')
})

test('after `npm install <package dir>`, require and import by name both work', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-node-install-'))
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"consumer","version":"1.0.0","private":true}')
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--offline', PKG], { cwd: dir, encoding: 'utf8', timeout: 120_000 })
    assert.equal(npm.status, 0, npm.stdout + npm.stderr)
    const cjs = node(['-e', script(`const { Engine } = require('worker-runtime')`)], dir)
    assert.equal(cjs.status, 0, cjs.out)
    assert.equal(cjs.out.trim(), 'hi node from V8 1')
    fs.writeFileSync(path.join(dir, 'main.mjs'), script(`import { Engine } from 'worker-runtime'`))
    const esm = node(['main.mjs'], dir)
    assert.equal(esm.status, 0, esm.out)
    assert.equal(esm.out.trim(), 'hi node from V8 1')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('without RTLD_DEEPBIND the addon cannot run inside node (the reason for the loader)', () => {
  // A plain require binds the addon's V8 calls to Node's own V8: starting an engine aborts.
  const addon = process.env.WORKER_RUNTIME_ADDON ?? path.join(PKG, 'worker-runtime.node')
  const code = `const n = require(${JSON.stringify(addon)}); new n.NativeEngine({ poolSize: 1 }, null); console.log('survived')`
  // No core file from the expected abort.
  const child = spawnSync('sh', ['-c', 'ulimit -c 0; exec "$0" -e "$1"', process.execPath, code], {
    cwd: os.tmpdir(), encoding: 'utf8', timeout: 60_000,
  })
  const r = { status: child.status, out: child.stdout + child.stderr }
  assert.notEqual(r.status, 0, r.out)
  assert.doesNotMatch(r.out, /survived/)
})
