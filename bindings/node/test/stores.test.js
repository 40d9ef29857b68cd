'use strict'
// Stores written in JS behind every binding kind, answering synchronously, through promises,
// late, and by failing; and the embedded stores the package exposes.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Engine, Env, SqliteKv, FsR2, SqliteD1, SqliteQueue, DirAssets, MemoryCache } = require('..')
const { MapKv, AsyncMapKv, tick } = require('./helpers.js')

const workers = new Map()
const engine = new Engine({ poolSize: 2 }, { sourceLoader: (site) => workers.get(site) })
test.after(() => engine.close())

/** Runs `body` (the inside of an async fetch(req, env)) and returns the JSON it answers. */
let n = 0
async function run(env, body) {
  const site = `w${n++}`
  workers.set(site, `export default { async fetch(req, env) {
    const attempt = async (f) => { try { return { ok: await f() } } catch (e) { return { error: e.message } } }
    ${body}
  } }`)
  const r = await engine.execute(site, 'v1', env, 'https://example.com/')
  return r.json()
}

const asyncly = (store, ms = 0) =>
  new Proxy(store, {
    get(target, name) {
      const v = target[name]
      return typeof v === 'function' ? async (...args) => { await tick(ms); return v.apply(target, args) } : v
    },
  })

// ---------------------------------------------------------------- KV

const KV_BODY = `
  await env.KV.put('a', 'text ✓', { metadata: { n: 1 }, expirationTtl: 3600 })
  await env.KV.put('b', new Uint8Array([1, 2, 3]))
  await env.KV.put('c', JSON.stringify({ j: true }))
  const withMeta = await env.KV.getWithMetadata('a')
  const bytes = [...new Uint8Array(await env.KV.get('b', 'arrayBuffer'))]
  const json = await env.KV.get('c', 'json')
  const listed = await env.KV.list({ limit: 2 })
  const next = await env.KV.list({ cursor: listed.cursor })
  await env.KV.delete('a')
  return Response.json({ withMeta, bytes, json, missing: await env.KV.get('a'),
    page1: listed.keys.map((k) => k.name), complete: listed.list_complete, page2: next.keys.map((k) => k.name),
    expiration: typeof listed.keys[0].expiration })`

for (const [flavour, make] of [['sync', () => new MapKv()], ['async', () => new AsyncMapKv(2)]]) {
  test(`KV: ${flavour === 'sync' ? 'a sync' : 'an async'} JS store serves get/put/delete/list with metadata and expiry`, async () => {
    const kv = make()
    const out = await run(new Env({ kv: { KV: kv } }), KV_BODY)
    assert.deepEqual(out, {
      withMeta: { value: 'text ✓', metadata: { n: 1 }, cacheStatus: null },
      bytes: [1, 2, 3],
      json: { j: true },
      missing: null,
      page1: ['a', 'b'],
      complete: false,
      page2: ['c'],
      expiration: 'number',
    })
    // The store got bytes and parsed metadata.
    assert.ok(Buffer.isBuffer(kv.map.get('b').value))
    assert.equal(kv.map.get('c').metadata, undefined)
  })
}

test('KV: get may answer a plain string, bytes or null, and expired entries are hidden', async () => {
  const kv = {
    get: (k) => ({ s: 'plain', u: new Uint8Array([104, 105]), old: { value: 'x', expiration: 1000 } })[k] ?? null,
  }
  const out = await run(new Env({ kv: { KV: kv } }),
    `return Response.json([await env.KV.get('s'), await env.KV.get('u'), await env.KV.get('old'), await env.KV.get('none')])`)
  assert.deepEqual(out, ['plain', 'hi', null, null])
})

test('KV: a store that throws, rejects, or lacks a method rejects the worker\'s promise with its message', async () => {
  const kv = {
    get() { throw new Error('kv is down') },
    put: async () => { throw new Error('disk full') },
    delete: () => Promise.reject('plain rejection'),
  }
  const out = await run(new Env({ kv: { KV: kv } }), `return Response.json([
    await attempt(() => env.KV.get('a')), await attempt(() => env.KV.put('a', 'b')),
    await attempt(() => env.KV.delete('a')), await attempt(() => env.KV.list())])`)
  assert.equal(out.length, 4)
  assert.match(out[0].error, /kv is down/)
  assert.match(out[1].error, /disk full/)
  assert.match(out[2].error, /plain rejection/)
  assert.match(out[3].error, /no list\(\) method/)
})

test('KV: a delayed store does not block Node\'s event loop', async () => {
  const kv = new AsyncMapKv(300)
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  try {
    const out = await run(new Env({ kv: { KV: kv } }), `await env.KV.put('k', 'late'); return Response.json(await env.KV.get('k'))`)
    assert.equal(out, 'late')
  } finally {
    clearInterval(timer)
  }
  assert.ok(ticks >= 20, `the event loop ran ${ticks} timer ticks during 600 ms of store delay`)
})

// ---------------------------------------------------------------- R2

class MapR2 {
  constructor() { this.map = new Map() }
  get(key) { return this.map.get(key) ?? null }
  put(key, body, object) { this.map.set(key, { body, object }) }
  delete(keys) { for (const k of keys) this.map.delete(k) }
  list({ prefix, limit }) {
    const objects = [...this.map.keys()].filter((k) => k.startsWith(prefix ?? '')).sort().slice(0, limit)
      .map((k) => this.map.get(k).object)
    return { objects, truncated: false }
  }
}

const R2_BODY = `
  const put = await env.B.put('docs/a.txt', 'hello bucket', { httpMetadata: { contentType: 'text/plain' }, customMetadata: { by: 'test' } })
  await env.B.put('docs/b.bin', new Uint8Array([9, 8, 7]))
  const got = await env.B.get('docs/a.txt')
  const range = await env.B.get('docs/a.txt', { range: { offset: 6, length: 3 } })
  const head = await env.B.head('docs/b.bin')
  const cond = await env.B.get('docs/a.txt', { onlyIf: { etagDoesNotMatch: put.etag } })
  const list = await env.B.list({ prefix: 'docs/' })
  await env.B.delete('docs/a.txt')
  return Response.json({ size: put.size, etag: put.etag, text: await got.text(), type: got.httpMetadata.contentType,
    custom: got.customMetadata, range: await range.text(), headSize: head.size, condHasBody: 'body' in cond,
    listed: list.objects.map((o) => o.key), after: await env.B.get('docs/a.txt') })`

for (const [flavour, make] of [['sync', () => new MapR2()], ['async', () => asyncly(new MapR2(), 2)]]) {
  test(`R2: ${flavour === 'sync' ? 'a sync' : 'an async'} JS bucket keeps bytes and metadata; ranges and onlyIf work`, async () => {
    const out = await run(new Env({ r2: { B: make() } }), R2_BODY)
    assert.deepEqual(out, {
      size: 12,
      etag: crypto.createHash('md5').update('hello bucket').digest('hex'),
      text: 'hello bucket',
      type: 'text/plain',
      custom: { by: 'test' },
      range: 'buc',
      headSize: 3,
      condHasBody: false,
      listed: ['docs/a.txt', 'docs/b.bin'],
      after: null,
    })
  })
}

test('R2: a failing bucket rejects with its message', async () => {
  const out = await run(new Env({ r2: { B: { get: async () => { throw new Error('bucket offline') } } } }),
    `return Response.json(await attempt(() => env.B.get('x')))`)
  assert.match(out.error, /bucket offline/)
})

// ---------------------------------------------------------------- D1

/** A toy database: answers each statement with its SQL and params echoed as one row. */
class EchoD1 {
  constructor() { this.queries = [] }
  query(q) {
    this.queries.push(q)
    if (q.statements.some((s) => s.sql.includes('FAIL'))) return { error: 'no such table: nope', statement: 0 }
    return {
      results: q.statements.map((s) => ({
        columns: ['sql', 'n', 'big', 'blob', 'nothing', 'real'],
        rows: [[s.sql, s.params.length, 2n ** 60n, new Uint8Array([1, 2]), null, 1.5]],
        meta: { changes: 1, last_row_id: 7 },
      })),
    }
  }
}

for (const [flavour, make] of [['sync', () => new EchoD1()], ['async', () => asyncly(new EchoD1(), 2)]]) {
  test(`D1: ${flavour === 'sync' ? 'a sync' : 'an async'} JS database gets typed statements and answers rows`, async () => {
    const db = make()
    const out = await run(new Env({ d1: { DB: db } }), `
      const row = await env.DB.prepare('SELECT ?, ?, ?, ?').bind(1, 'two', null, new Uint8Array([3])).first()
      const run = await env.DB.prepare('UPDATE t SET x = 1').run()
      const failed = await attempt(() => env.DB.prepare('SELECT FAIL').all())
      return Response.json({ row: { ...row, blob: [...new Uint8Array(row.blob)] }, changes: run.meta.changes,
        lastRowId: run.meta.last_row_id, failed })`)
    assert.deepEqual(out, {
      row: { sql: 'SELECT ?, ?, ?, ?', n: 4, big: 2 ** 60, blob: [1, 2], nothing: null, real: 1.5 },
      changes: 1,
      lastRowId: 7,
      failed: { error: 'D1_ERROR: no such table: nope' },
    })
    const params = db.queries[0].statements[0].params
    assert.deepEqual(params.slice(0, 3), [1, 'two', null])
    assert.ok(Buffer.isBuffer(params[3]))
    assert.deepEqual([...params[3]], [3])
  })
}

test('D1: a database that throws fails the query with D1_ERROR and its message', async () => {
  const out = await run(new Env({ d1: { DB: { query: () => { throw new Error('db offline') } } } }),
    `return Response.json(await attempt(() => env.DB.prepare('SELECT 1').all()))`)
  assert.equal(out.error, 'D1_ERROR: db offline')
})

// ---------------------------------------------------------------- Cache

class MapCache {
  constructor() { this.map = new Map() }
  key(name, url) { return `${name ?? ''} ${url}` }
  get(name, url) { return this.map.get(this.key(name, url)) ?? null }
  put(name, url, entry) { this.map.set(this.key(name, url), entry) }
  delete(name, url) { return this.map.delete(this.key(name, url)) }
}

for (const [flavour, make] of [['sync', () => new MapCache()], ['async', () => asyncly(new MapCache(), 2)]]) {
  test(`Cache: ${flavour === 'sync' ? 'a sync' : 'an async'} JS store backs caches.default and caches.open`, async () => {
    const out = await run(new Env({ cache: make() }), `
      const url = 'https://example.com/cached'
      await caches.default.put(url, new Response('cached body', { headers: { 'cache-control': 'max-age=60', 'x-a': '1' } }))
      const hit = await caches.default.match(url)
      const named = await caches.open('mine')
      const miss = await named.match(url)
      const deleted = await caches.default.delete(url)
      return Response.json({ body: await hit.text(), status: hit.headers.get('cf-cache-status'), xa: hit.headers.get('x-a'),
        miss: miss === undefined, deleted, gone: (await caches.default.match(url)) === undefined })`)
    assert.deepEqual(out, { body: 'cached body', status: 'HIT', xa: '1', miss: true, deleted: true, gone: true })
  })
}

test('Cache: a failing store rejects match with its message', async () => {
  const out = await run(new Env({ cache: { get: () => { throw new Error('cache gone') } } }),
    `return Response.json(await attempt(() => caches.default.match('https://example.com/')))`)
  assert.match(out.error, /cache gone/)
})

// ---------------------------------------------------------------- Assets

test('Assets: a function answering a WHATWG Response, and an object answering a plain shape', async () => {
  const fn = async (req) => new Response(`asset for ${new URL(req.url).pathname}`, { headers: { 'content-type': 'text/plain' } })
  const obj = { fetch: (req) => (req.url.endsWith('/missing') ? null : { status: 200, headers: { 'x-s': 'obj' }, body: 'plain asset' }) }
  const out = await run(new Env({ assets: { A: fn, B: obj } }), `
    const a = await env.A.fetch('https://example.com/x.txt')
    const b = await env.B.fetch(new Request('https://example.com/y'))
    const missing = await env.B.fetch('https://example.com/missing')
    return Response.json({ a: await a.text(), type: a.headers.get('content-type'), b: await b.text(), xs: b.headers.get('x-s'), missing: missing.status })`)
  assert.deepEqual(out, { a: 'asset for /x.txt', type: 'text/plain', b: 'plain asset', xs: 'obj', missing: 404 })
})

test('Assets: a failing server rejects fetch with its message', async () => {
  const out = await run(new Env({ assets: { A: () => Promise.reject(new Error('no assets today')) } }),
    `return Response.json(await attempt(() => env.A.fetch('https://example.com/')))`)
  assert.match(out.error, /no assets today/)
})

// ---------------------------------------------------------------- Queues

for (const [flavour, wrap] of [['sync', (q) => q], ['async', (q) => asyncly(q, 2)]]) {
  test(`Queues: ${flavour === 'sync' ? 'a sync' : 'an async'} JS producer gets encoded messages with their content types`, async () => {
    const sent = []
    const out = await run(new Env({ queues: { Q: wrap({ send: (messages) => { sent.push(...messages) } }) } }), `
      await env.Q.send({ job: 1 })
      await env.Q.sendBatch([{ body: 'text job', contentType: 'text' }, { body: new Uint8Array([5]), contentType: 'bytes', delaySeconds: 30 }])
      return Response.json('sent')`)
    assert.equal(out, 'sent')
    assert.deepEqual(sent.map((m) => [m.contentType, m.body.toString('utf8'), m.delaySeconds]), [
      ['json', '{"job":1}', null],
      ['text', 'text job', null],
      ['bytes', '\u0005', 30],
    ])
  })
}

test('Queues: a producer that fails rejects send with its message', async () => {
  const out = await run(new Env({ queues: { Q: { send: () => { throw new Error('queue is full') } } } }),
    `return Response.json(await attempt(() => env.Q.send('x')))`)
  assert.match(out.error, /queue is full/)
})

// ---------------------------------------------------------------- embedded stores

test('the embedded stores work as bindings and persist across engines', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-node-embedded-'))
  fs.writeFileSync(path.join(dir, 'index.html'), '<h1>home</h1>')
  try {
    const env = () => new Env({
      kv: { KV: new SqliteKv(path.join(dir, 'kv.sqlite')) },
      r2: { B: new FsR2(path.join(dir, 'r2')) },
      d1: { DB: new SqliteD1(path.join(dir, 'db.sqlite')) },
      queues: { Q: new SqliteQueue(path.join(dir, 'q.sqlite')) },
      assets: { ASSETS: new DirAssets(dir, { htmlHandling: 'auto-trailing-slash', notFoundHandling: '404-page' }) },
      cache: new MemoryCache(1 << 20),
    })
    const out = await run(env(), `
      await env.KV.put('k', 'kv value')
      await env.B.put('o', 'r2 value')
      await env.DB.exec('CREATE TABLE IF NOT EXISTS t (v TEXT)')
      await env.DB.prepare('INSERT INTO t VALUES (?)').bind('d1 value').run()
      await env.Q.send({ q: 1 })
      const page = await env.ASSETS.fetch('https://example.com/')
      await caches.default.put('https://example.com/c', new Response('c', { headers: { 'cache-control': 'max-age=60' } }))
      return Response.json({ page: await page.text(), cached: await (await caches.default.match('https://example.com/c')).text() })`)
    assert.deepEqual(out, { page: '<h1>home</h1>', cached: 'c' })
    const again = await run(env(), `return Response.json({ kv: await env.KV.get('k'), r2: await (await env.B.get('o')).text(),
      d1: (await env.DB.prepare('SELECT v FROM t').first()).v })`)
    assert.deepEqual(again, { kv: 'kv value', r2: 'r2 value', d1: 'd1 value' })
    assert.throws(() => new DirAssets(dir, { htmlHandling: 'sideways' }), /htmlHandling/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
