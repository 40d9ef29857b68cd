'use strict'
// The Engine API: request and response forms, errors, executeFunction, compileAndCache, limits,
// concurrency and close().
const test = require('node:test')
const assert = require('node:assert/strict')
const rt = require('..')
const { Engine, Env, JSException, ScriptError, ScriptNotFoundError, LimitError, InternalError, WorkerError } = rt
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { AsyncMapKv } = require('./helpers.js')

const ECHO = `export default {
  async fetch(req, env) {
    const headers = [...req.headers]
    return Response.json({ method: req.method, url: req.url, headers, body: await req.text(), who: env.WHO ?? null },
      { status: 201, statusText: 'Made', headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-one', '1']] })
  }
}`

const sources = {
  echo: ECHO,
  throws: `export default { fetch() { null.boom() } }`,
  // The parser stops at line 3, column 28 (the stray ')').
  broken: `export default {\n  fetch() {\n    return new Response(1 +)\n  }\n}`,
  spin: `export default { fetch() { for (;;) {} } }`,
  fn: `export function add(env, a, b) { return a + b + (env.OFFSET ?? 0) }
       export default { async describe(env, x) { return { x, who: env.WHO } } }`,
}

const engine = new Engine({ poolSize: 2, cpuTimeMs: 200 }, {
  sourceLoader: async (site) => {
    if (site === 'missing') throw new Error('no such site')
    return sources[site]
  },
})
test.after(() => engine.close())

test('a request as a URL string, an object with header pairs, or a WHATWG Request', async () => {
  const env = new Env({ vars: { WHO: 'node' } })
  const plain = await engine.execute('echo', 'v1', env, 'https://example.com/a?b=1')
  assert.equal(plain.status, 201)
  assert.equal(plain.statusText, 'Made')
  assert.deepEqual(plain.json(), { method: 'GET', url: 'https://example.com/a?b=1', headers: [], body: '', who: 'node' })

  const pairs = await engine.execute('echo', 'v1', env, {
    method: 'POST',
    url: 'https://example.com/',
    headers: [['x-a', '1'], ['x-a', '2'], ['content-type', 'text/plain']],
    body: 'hi ✓',
  })
  const got = pairs.json()
  assert.equal(got.method, 'POST')
  assert.equal(got.body, 'hi ✓')
  assert.deepEqual(got.headers, [['content-type', 'text/plain'], ['x-a', '1, 2']])

  const object = await engine.execute('echo', 'v1', env, {
    method: 'PUT', url: 'https://example.com/', headers: { 'x-b': ['1', '2'], 'x-c': 'c' }, body: Buffer.from([104, 105]),
  })
  assert.deepEqual(object.json().headers, [['x-b', '1, 2'], ['x-c', 'c']])
  assert.equal(object.json().body, 'hi')

  const whatwg = await engine.execute('echo', 'v1', env, new Request('https://example.com/r', {
    method: 'POST', headers: new Headers({ 'x-d': 'd' }), body: 'from a Request',
  }))
  assert.equal(whatwg.json().body, 'from a Request')
  assert.deepEqual(whatwg.json().headers.find(([k]) => k === 'x-d'), ['x-d', 'd'])
})

test('a response keeps repeated headers in order and reads as text or JSON', async () => {
  const r = await engine.execute('echo', 'v1', null, 'https://example.com/')
  assert.deepEqual(r.headers.filter(([k]) => k === 'set-cookie'), [['set-cookie', 'a=1'], ['set-cookie', 'b=2']])
  assert.equal(r.header('X-ONE'), '1')
  assert.equal(r.header('missing'), null)
  assert.ok(Buffer.isBuffer(r.body))
  assert.equal(typeof r.text(), 'string')
  assert.equal(r.json().who, null)
  assert.ok(r.durationMs >= 0)
  assert.deepEqual(r.logs, [])
})

test('an uncaught exception rejects with JSException carrying the JS name, stack and location', async () => {
  await assert.rejects(engine.execute('throws', 'v1', null, 'https://example.com/'), (e) => {
    assert.ok(e instanceof JSException)
    assert.ok(e instanceof WorkerError)
    assert.ok(e instanceof Error)
    assert.equal(e.kind, 'exception')
    assert.equal(e.jsName, 'TypeError')
    assert.match(e.message, /boom/)
    assert.match(e.jsStack, /TypeError/)
    assert.match(e.location, /^worker\.js:1:\d+$/)
    return true
  })
})

test('a syntax error is a ScriptError with file:line:col, from compileAndCache and from execute', async () => {
  await assert.rejects(engine.compileAndCache('c', 'v1', sources.broken), (e) => {
    assert.ok(e instanceof ScriptError)
    assert.equal(e.kind, 'script')
    assert.equal(e.location, 'worker.js:3:28')
    assert.match(e.message, /Unexpected token/)
    return true
  })
  await assert.rejects(engine.execute('broken', 'v1', null, 'https://example.com/'), (e) => {
    assert.ok(e instanceof ScriptError)
    assert.equal(e.location, 'worker.js:3:28')
    return true
  })
})

test('compileAndCache returns the code cache and later requests run that source', async () => {
  const cache = await engine.compileAndCache('compiled', 'v1', {
    mainModule: 'src/main.js',
    modules: [
      { name: 'src/main.js', content: `import greeting from './greeting.txt'\nexport default { fetch() { return new Response(greeting) } }` },
      { name: 'src/greeting.txt', content: 'hello from a text module' },
    ],
  })
  assert.ok(Buffer.isBuffer(cache) && cache.length > 0)
  const r = await engine.execute('compiled', 'v1', null, 'https://example.com/')
  assert.equal(r.text(), 'hello from a text module')
})

test('a source loader that fails rejects with ScriptNotFoundError and its message', async () => {
  await assert.rejects(engine.execute('missing', 'v1', null, 'https://example.com/'), (e) => {
    assert.ok(e instanceof ScriptNotFoundError, e.constructor.name)
    assert.match(e.message, /no such site/)
    return true
  })
})

test('executeFunction calls an export with (env, ...args) and resolves to its JSON value', async () => {
  const env = new Env({ vars: { WHO: 'fn', OFFSET: 10 } })
  const sum = await engine.executeFunction('fn', 'v1', env, 'add', 2, 3)
  assert.equal(sum.value, 15)
  const obj = await engine.executeFunction('fn', 'v1', env, 'describe', [1, 'x'])
  assert.deepEqual(obj.value, { x: [1, 'x'], who: 'fn' })
})

test('a CPU limit rejects with LimitError naming the limit, and the engine keeps serving', async () => {
  await assert.rejects(engine.execute('spin', 'v1', null, 'https://example.com/'), (e) => {
    assert.ok(e instanceof LimitError)
    assert.equal(e.kind, 'exceededCpu')
    return true
  })
  assert.equal((await engine.execute('echo', 'v1', null, 'https://example.com/')).status, 201)
})

test('200 concurrent executes against an async store all complete, each with its own answer', async () => {
  const kv = new AsyncMapKv(1)
  const env = new Env({ kv: { KV: kv } })
  const e2 = new Engine({ poolSize: 2 }, {
    sourceLoader: () => `export default { async fetch(req, env) {
      const id = new URL(req.url).searchParams.get('id')
      await env.KV.put('k' + id, 'v' + id)
      return new Response(await env.KV.get('k' + id))
    } }`,
  })
  try {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => e2.execute('c', 'v1', env, `https://example.com/?id=${i}`))
    )
    assert.deepEqual(results.map((r) => r.text()), Array.from({ length: 200 }, (_, i) => `v${i}`))
    assert.equal(kv.map.size, 200)
  } finally {
    await e2.close()
  }
})

test('close() resolves, then every call rejects with InternalError', async () => {
  const e = new Engine({ poolSize: 1 }, { sourceLoader: () => sources.echo })
  assert.equal((await e.execute('echo', 'v1', null, 'https://example.com/')).status, 201)
  await e.close()
  await assert.rejects(e.execute('echo', 'v1', null, 'https://example.com/'), InternalError)
  await assert.rejects(e.executeFunction('fn', 'v1', null, 'add', 1, 2), /closed/)
  await assert.rejects(e.compileAndCache('x', 'v1', sources.echo), InternalError)
  await e.close()
})

test('bad arguments fail clearly instead of crashing', async () => {
  await assert.rejects(engine.execute('echo', 'v1', null, { method: 'GET' }), TypeError)
  await assert.rejects(engine.execute('echo', 'v1', null, { url: 'https://example.com/', body: 42 }), /request body/)
  assert.throws(() => new Env({ kv: { KV: 42 } }), /KV store must be an object/)
  assert.throws(() => new Engine({}, { sourceLoader: 'nope' }), /sourceLoader must be a function/)
  await assert.rejects(engine.compileAndCache('x', 'v1', { modules: [] }), /worker source/)
})

test('busy polling never holds up Node: timers fire while a call is pending, with it off calls still settle', async () => {
  const kv = new AsyncMapKv(30)
  const env = new Env({ kv: { KV: kv } })
  const source = `export default { async fetch(req, env) { await env.KV.put('k', 'v'); return new Response(await env.KV.get('k')) } }`
  for (const busyPollMicros of [0, 50, 10_000_000]) {
    const e = new Engine({ poolSize: 1, busyPollMicros }, { sourceLoader: () => source })
    try {
      const started = performance.now()
      let timerAt = null
      setTimeout(() => (timerAt = performance.now() - started), 5)
      const r = await e.execute('slow', 'v1', env, 'https://example.com/')
      assert.equal(r.text(), 'v')
      // The store sleeps 60 ms in all; the 5 ms timer must not wait for the call.
      assert.ok(timerAt !== null && timerAt < 50, `busyPollMicros ${busyPollMicros}: the timer fired at ${timerAt} ms`)
    } finally {
      await e.close()
    }
  }
  assert.throws(() => new Engine({ busyPollMicros: -1 }), /busyPollMicros must be a number >= 0/)
})

test('a process with an engine exits as soon as its last call settles, however long the polling window', () => {
  const pkg = path.join(__dirname, '..')
  const code = `
    const { Engine } = require(${JSON.stringify(pkg)})
    const e = new Engine({ busyPollMicros: 60e6 }, { sourceLoader: () => 'export default { fetch() { return new Response("hi") } }' })
    let settled
    e.execute('s', 'v1', null, 'https://example.com/').then((r) => { settled = performance.now(); console.log(r.text()) })
    process.on('exit', () => console.log(Math.round(performance.now() - settled)))`
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(r.status, 0, r.stderr)
  const [text, lingered] = r.stdout.trim().split('\n')
  assert.equal(text, 'hi')
  assert.ok(Number(lingered) < 1000, `the process lingered ${lingered} ms after the last call`)
})

test('v8Version is the V8 libworker links, not Node\'s', () => {
  assert.match(Engine.v8Version, /^\d+\.\d+/)
  assert.notEqual(Engine.v8Version, process.versions.v8)
})
