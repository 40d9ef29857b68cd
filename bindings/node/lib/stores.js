'use strict'
// Stores written in JavaScript. The engine calls a store through one dispatcher function per
// store, `(method, reply, args)`, on Node's event loop. The dispatcher calls the host's method
// with friendly arguments, awaits it when it returns a Promise, and settles `reply` once with the
// answer in the plain shape the native side reads (or with the error's message, which rejects
// the worker's promise).

function toBuffer(v, what) {
  if (Buffer.isBuffer(v)) return v
  if (typeof v === 'string') return Buffer.from(v, 'utf8')
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (v instanceof ArrayBuffer) return Buffer.from(v)
  throw new TypeError(`${what} must be a string, Buffer, Uint8Array or ArrayBuffer`)
}

function message(e) {
  if (e instanceof Error) return e.message
  return typeof e === 'string' ? e : String(e)
}

function isThenable(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function'
}

/** Runs `f`, then `out` on its (awaited) value, and settles `reply` with the result. */
function settle(reply, f, out) {
  let value
  try {
    value = f()
  } catch (e) {
    reply.err(message(e))
    return
  }
  const finish = (v) => {
    let answer
    try {
      answer = out(v)
    } catch (e) {
      reply.err(message(e))
      return
    }
    if (isThenable(answer)) answer.then((a) => reply.ok(a), (e) => reply.err(message(e)))
    else reply.ok(answer)
  }
  if (isThenable(value)) value.then(finish, (e) => reply.err(message(e)))
  else finish(value)
}

/**
 * A dispatcher over `store`: `methods[name] = [call(store, ...args), out(value)]`. A method the
 * store lacks fails with a clear message unless the table gives a fallback.
 */
function dispatcher(kind, store, methods) {
  if (store === null || (typeof store !== 'object' && typeof store !== 'function')) {
    throw new TypeError(`${kind} store must be an object with methods`)
  }
  return (method, reply, args) => {
    const entry = methods[method]
    if (!entry) return reply.err(`${kind}: unknown method ${method}`)
    const [invoke, out] = entry
    settle(reply, () => invoke(store, ...args), out)
  }
}

function need(store, kind, name) {
  const f = store[name]
  if (typeof f !== 'function') throw new TypeError(`the ${kind} store has no ${name}() method`)
  return f.bind(store)
}

const none = () => undefined
const nowSeconds = () => Date.now() / 1000
const expired = (e) => e != null && e <= nowSeconds()
// Optional fields of the native shapes are left undefined, never null.
const metadataText = (m) => (m === undefined || m === null ? undefined : JSON.stringify(m))

// ---------------------------------------------------------------- KV

/** What `get` answered: null, the value (string or bytes), or {value, metadata, expiration}. */
function kvEntry(v) {
  if (v === null || v === undefined) return null
  if (typeof v === 'string' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    return { value: toBuffer(v, 'a KV value') }
  }
  if (expired(v.expiration)) return null
  return {
    value: toBuffer(v.value, 'a KV value'),
    metadata: metadataText(v.metadata),
    expiration: v.expiration ?? undefined,
  }
}

function kvList(v) {
  if (!v || !Array.isArray(v.keys)) throw new TypeError('KV list() must answer {keys: [...], list_complete, cursor}')
  const keys = v.keys
    .filter((k) => !expired(k.expiration))
    .map((k) => ({
      name: String(k.name),
      expiration: k.expiration ?? undefined,
      metadata: metadataText(k.metadata),
    }))
  const complete = v.list_complete ?? v.listComplete ?? true
  return { keys, listComplete: Boolean(complete), cursor: complete ? undefined : (v.cursor ?? undefined) }
}

const KV = {
  get: [(s, key) => need(s, 'KV', 'get')(key), kvEntry],
  put: [
    (s, key, value, expiration, metadata) => {
      const options = {}
      if (expiration !== null) options.expiration = expiration
      if (metadata !== null) options.metadata = JSON.parse(metadata)
      return need(s, 'KV', 'put')(key, value, options)
    },
    none,
  ],
  delete: [(s, key) => need(s, 'KV', 'delete')(key), none],
  list: [
    (s, prefix, limit, cursor) => need(s, 'KV', 'list')({ prefix, limit, cursor: cursor ?? undefined }),
    kvList,
  ],
}

// ---------------------------------------------------------------- R2

function r2Object(o) {
  // Accept what `put` was handed back as is, or an entry that holds it beside the body.
  const { body: _body, object, ...rest } = o
  return object ?? rest
}

const R2 = {
  get: [
    (s, key) => need(s, 'R2', 'get')(key),
    (v) => (v === null || v === undefined ? null : { object: r2Object(v), body: toBuffer(v.body, 'an R2 body') }),
  ],
  put: [(s, key, body, object) => need(s, 'R2', 'put')(key, body, object), none],
  delete: [(s, keys) => need(s, 'R2', 'delete')(keys), none],
  list: [
    (s, options) => need(s, 'R2', 'list')(options),
    (v) => {
      if (!v || !Array.isArray(v.objects)) throw new TypeError('R2 list() must answer {objects: [...], truncated, cursor}')
      return {
        objects: v.objects.map(r2Object),
        truncated: Boolean(v.truncated),
        cursor: v.cursor ?? null,
        delimitedPrefixes: v.delimitedPrefixes ?? [],
      }
    },
  ],
}

// ---------------------------------------------------------------- D1

function d1Cell(v) {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint') {
    return Number.isSafeInteger(Number(v)) ? Number(v) : { bigint: v.toString() }
  }
  if (typeof v === 'boolean') return v ? 1 : 0
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return { blob: [...toBuffer(v)] }
  if (typeof v === 'number' || typeof v === 'string') return v
  throw new TypeError(`a D1 cell cannot be ${typeof v}`)
}

function d1Answer(v) {
  if (v && typeof v.error === 'string') return { error: v.error, statement: v.statement ?? null }
  if (!v || !Array.isArray(v.results)) throw new TypeError('D1 query() must answer {results: [...]}')
  return {
    results: v.results.map((r) => ({
      columns: r.columns ?? [],
      rows: (r.rows ?? []).map((row) => row.map(d1Cell)),
      meta: r.meta ?? {},
    })),
    bookmark: v.bookmark ?? null,
  }
}

const D1 = {
  query: [(s, query) => need(s, 'D1', 'query')(query), d1Answer],
  dump: [
    (s) => (typeof s.dump === 'function' ? s.dump() : null),
    (v) => (v === null || v === undefined ? null : toBuffer(v, 'a D1 dump')),
  ],
}

// ---------------------------------------------------------------- Cache

function headerPairs(h) {
  if (!h) return []
  if (Array.isArray(h)) return h.map(([k, v]) => [String(k), String(v)])
  if (typeof h.entries === 'function' && typeof h.get === 'function') return [...h.entries()]
  const out = []
  for (const [k, v] of Object.entries(h)) {
    if (Array.isArray(v)) for (const x of v) out.push([k, String(x)])
    else if (v !== undefined && v !== null) out.push([k, String(v)])
  }
  return out
}

const CACHE = {
  get: [
    (s, cacheName, url) => need(s, 'Cache', 'get')(cacheName, url),
    (v) => {
      if (v === null || v === undefined || v.expiresAt <= Date.now()) return null
      return {
        status: v.status,
        headers: headerPairs(v.headers),
        body: toBuffer(v.body ?? '', 'a cached body'),
        expiresAt: v.expiresAt,
      }
    },
  ],
  put: [(s, cacheName, url, entry) => need(s, 'Cache', 'put')(cacheName, url, entry), none],
  delete: [(s, cacheName, url) => need(s, 'Cache', 'delete')(cacheName, url), (v) => Boolean(v)],
}

// ---------------------------------------------------------------- Assets

async function assetFromResponse(r) {
  return { status: r.status, headers: headerPairs(r.headers), body: Buffer.from(await r.arrayBuffer()) }
}

const ASSETS = {
  fetch: [
    (s, request) => (typeof s === 'function' ? s(request) : need(s, 'Assets', 'fetch')(request)),
    (v) => {
      if (v === null || v === undefined) return { status: 404, headers: [], body: Buffer.alloc(0) }
      if (typeof Response === 'function' && v instanceof Response) return assetFromResponse(v)
      return {
        status: v.status ?? 200,
        headers: headerPairs(v.headers),
        body: toBuffer(v.body ?? '', 'an asset body'),
      }
    },
  ],
}

// ---------------------------------------------------------------- Queues

const QUEUE = {
  send: [(s, messages) => need(s, 'Queue', 'send')(messages), (v) => v ?? {}],
  metrics: [(s) => (typeof s.metrics === 'function' ? s.metrics() : {}), (v) => v ?? {}],
}

// ---------------------------------------------------------------- Source loader

const EXT_KINDS = { '.js': 'esm', '.mjs': 'esm', '.cjs': 'script', '.txt': 'text', '.html': 'text', '.json': 'json', '.bin': 'data', '.wasm': 'data' }

function moduleKind(name, type, isMain) {
  if (type) return type
  const dot = name.lastIndexOf('.')
  const kind = EXT_KINDS[dot >= 0 ? name.slice(dot) : ''] ?? 'esm'
  // The entry point may be a service-worker script (wrangler's rule: no import/export lines).
  return isMain && kind === 'esm' ? 'detect' : kind
}

/**
 * A worker's code: a string (one file, an ES module when it has import/export lines, otherwise
 * a service-worker script), or {mainModule, modules: [{name, type?, content}]} where type is
 * 'esm' | 'script' | 'text' | 'json' | 'data' (default: by extension).
 */
function normalizeSource(src) {
  if (typeof src === 'string' || ArrayBuffer.isView(src)) {
    return { mainModule: 'worker.js', modules: [{ name: 'worker.js', kind: 'detect', content: toBuffer(src) }] }
  }
  if (!src || !Array.isArray(src.modules) || src.modules.length === 0) {
    throw new TypeError('a worker source is a string or {mainModule, modules: [{name, type, content}]}')
  }
  const mainModule = String(src.mainModule ?? src.modules[0].name)
  const modules = src.modules.map((m) => ({
    name: String(m.name),
    kind: moduleKind(String(m.name), m.type, String(m.name) === mainModule),
    content: toBuffer(m.content, `module ${m.name}`),
  }))
  return { mainModule, modules }
}

function loaderDispatcher(loader) {
  if (typeof loader !== 'function') throw new TypeError('sourceLoader must be a function (siteId, deployKey) => source')
  return (method, reply, args) => settle(reply, () => loader(...args), normalizeSource)
}

module.exports = {
  kv: (s) => dispatcher('KV', s, KV),
  r2: (s) => dispatcher('R2', s, R2),
  d1: (s) => dispatcher('D1', s, D1),
  cache: (s) => dispatcher('Cache', s, CACHE),
  assets: (s) => dispatcher('Assets', s, ASSETS),
  queue: (s) => dispatcher('Queue', s, QUEUE),
  loaderDispatcher,
  normalizeSource,
  headerPairs,
  toBuffer,
}
