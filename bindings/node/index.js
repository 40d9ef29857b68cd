'use strict'
// worker-runtime: libworker for Node.js. Workers run on libworker's own V8 threads; every call
// here returns a Promise and never blocks Node's event loop. Stores written in JS run on Node's
// event loop (see lib/stores.js).
const native = require('./lib/native.js')
const stores = require('./lib/stores.js')
const errors = require('./lib/errors.js')

const { workerError, InternalError } = errors

// ---------------------------------------------------------------- env

const EMBEDDED = {
  kv: [native.SqliteKv, 'kvNative', 'kv'],
  r2: [native.FsR2, 'r2Native', 'r2'],
  d1: [native.SqliteD1, 'd1Native', 'd1'],
  queues: [native.SqliteQueue, 'queueNative', 'queue'],
  assets: [native.DirAssets, 'assetsNative', 'assets'],
}

/**
 * The env a worker sees: vars, secrets and the stores behind its bindings. Build it once and
 * pass it to every execute (a plain object spec works too and is converted once per object).
 */
class Env {
  constructor(spec = {}) {
    const env = new native.NativeEnv()
    for (const [name, value] of Object.entries(spec.vars ?? {})) {
      if (typeof value === 'string') env.var(name, value)
      else env.json(name, JSON.stringify(value))
    }
    for (const [name, value] of Object.entries(spec.secrets ?? {})) env.secret(name, String(value))
    for (const [kind, [Embedded, addNative, addJs]] of Object.entries(EMBEDDED)) {
      for (const [name, store] of Object.entries(spec[kind] ?? {})) {
        if (store instanceof Embedded) env[addNative](name, store)
        else env[addJs](name, stores[addJs](store))
      }
    }
    if (spec.cache instanceof native.MemoryCache) env.cacheNative(spec.cache)
    else if (spec.cache) env.cache(stores.cache(spec.cache))
    this.native = env
    Object.freeze(this)
  }
}

const EMPTY_ENV = new Env()
const converted = new WeakMap()

function nativeEnv(env) {
  if (env === null || env === undefined) return EMPTY_ENV.native
  if (env instanceof Env) return env.native
  let e = converted.get(env)
  if (!e) {
    e = new Env(env)
    converted.set(env, e)
  }
  return e.native
}

// ---------------------------------------------------------------- requests and responses

function flatHeaders(h) {
  const out = []
  for (const [k, v] of stores.headerPairs(h)) out.push(k, v)
  return out
}

/**
 * [method, url, flat headers, body | null], or a Promise of it for a WHATWG Request (its body is
 * read first); the common forms stay synchronous, which keeps a microtask turn off each call.
 */
function requestParts(req) {
  if (typeof req === 'string' || req instanceof URL) return ['GET', String(req), [], null]
  if (typeof Request === 'function' && req instanceof Request) return whatwgRequestParts(req)
  if (!req || req.url === undefined) throw new TypeError('a request is a URL string or {method, url, headers, body}')
  const body = req.body === undefined || req.body === null ? null : stores.toBuffer(req.body, 'a request body')
  return [req.method ?? 'GET', String(req.url), flatHeaders(req.headers), body]
}

async function whatwgRequestParts(req) {
  const body = req.body === null ? null : Buffer.from(await req.arrayBuffer())
  return [req.method, req.url, flatHeaders(req.headers), body]
}

/**
 * Picks up finished calls without waking Node's loop. Waking a sleeping loop costs more than a
 * fast worker takes to answer, so for `windowMs` after each call starts the loop keeps turning
 * (through setImmediate: timers and I/O run as usual and nothing blocks) and each turn settles
 * the calls that have finished. Past the window the loop sleeps and a finished call wakes it.
 */
class Poller {
  #native
  #windowMs
  #until = 0
  #active = false
  #tick = () => {
    if (this.#native.poll(performance.now() < this.#until)) setImmediate(this.#tick)
    else this.#active = false
  }

  constructor(native, windowMs) {
    this.#native = native
    this.#windowMs = windowMs
  }

  /** A call was just made: its promise is pending in the native engine. */
  started() {
    if (this.#windowMs <= 0) return
    this.#until = performance.now() + this.#windowMs
    if (!this.#active) {
      this.#active = true
      this.#native.poll(true)
      setImmediate(this.#tick)
    }
  }
}

/** What a worker answered. Headers are [name, value] pairs in order, repeats kept. */
class WorkerResponse {
  constructor(raw) {
    this.status = raw.status
    this.statusText = raw.statusText
    const headers = []
    for (let i = 0; i < raw.headers.length; i += 2) headers.push([raw.headers[i], raw.headers[i + 1]])
    this.headers = headers
    this.body = raw.body
    this.logs = raw.logs
    this.durationMs = raw.durationMs
    /** The worker called ctx.passThroughOnException() before failing. */
    this.passThrough = raw.passThrough
  }

  /** Every value of a header (case-insensitive), joined with ", " as fetch's Headers does; null if absent. */
  header(name) {
    const n = name.toLowerCase()
    const values = this.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v)
    return values.length ? values.join(', ') : null
  }

  text() {
    return this.body.toString('utf8')
  }

  json() {
    return JSON.parse(this.text())
  }
}

function answer(raw) {
  if (raw.error) throw workerError(raw.error, raw.logs)
  return new WorkerResponse(raw)
}

/** Runs a native call; a closed engine or project rejects with InternalError like the rest. */
function guarded(f) {
  try {
    return f()
  } catch (e) {
    if (/is closed$/.test(e.message)) throw new InternalError({ kind: 'internalError', message: e.message })
    throw e
  }
}

// ---------------------------------------------------------------- engine

/**
 * A worker runtime: executor threads, each with its own event loop and V8 isolates.
 * `config`: poolSize, memoryLimitMb, cpuTimeMs, wallTimeMs, maxSubrequests, maxResponseBytes,
 * maxResidentWorkers, warmIsolates, allowCodeGeneration.
 * `sourceLoader(siteId, deployKey)` returns (or resolves to) a worker's source when it is first
 * needed.
 */
class Engine {
  #native
  #poller

  constructor(config = {}, { sourceLoader } = {}) {
    const { busyPollMicros = 50, ...engineConfig } = config ?? {}
    if (typeof busyPollMicros !== 'number' || !(busyPollMicros >= 0)) {
      throw new TypeError('busyPollMicros must be a number >= 0')
    }
    const loader = sourceLoader === undefined ? null : stores.loaderDispatcher(sourceLoader)
    this.#native = new native.NativeEngine(engineConfig, loader)
    this.#poller = new Poller(this.#native, busyPollMicros / 1000)
  }

  /** The V8 version the workers run on. */
  static get v8Version() {
    return native.NativeEngine.v8Version()
  }

  /** Runs the worker's fetch handler; rejects with a WorkerError subclass when the worker fails. */
  async execute(siteId, deployKey, env, request) {
    let parts = requestParts(request)
    if (parts instanceof Promise) parts = await parts
    const e = nativeEnv(env)
    return answer(await this.#call('execute', siteId, deployKey, e, ...parts))
  }

  /**
   * Calls the worker's named export (a function, or a method of its default export) with
   * `(env, ...args)`; args and the result cross as JSON. Resolves to {value, logs, durationMs}.
   */
  async executeFunction(siteId, deployKey, env, name, ...args) {
    const e = nativeEnv(env)
    const json = JSON.stringify(args)
    const raw = await this.#call('executeFunction', siteId, deployKey, e, name, json)
    if (raw.error) throw workerError(raw.error, raw.logs)
    const value = raw.data === null || raw.data === undefined ? null : JSON.parse(raw.data)
    return { value, logs: raw.logs, durationMs: raw.durationMs }
  }

  /**
   * Compiles `source` for (siteId, deployKey), which later requests then use instead of the
   * source loader. Rejects with a ScriptError (with file:line:col) when it does not compile;
   * resolves to V8's code cache for the main module.
   */
  async compileAndCache(siteId, deployKey, source) {
    const src = stores.normalizeSource(source)
    const raw = await guarded(() => this.#native.compileAndCache(siteId, deployKey, src))
    if (raw.error) throw workerError(raw.error, [])
    return raw.cache
  }

  /**
   * Opens a wrangler project (a wrangler.jsonc/.json/.toml, a directory holding one, or a
   * worker script) the way `wk serve` runs it. Its bindings get embedded stores under
   * `stateDir` (default: .wk-state beside the config) unless `env` names a binding, in which
   * case the host's store replaces it.
   */
  async openProject(path, { stateDir, env } = {}) {
    const e = nativeEnv(env)
    const opened = await guarded(() => this.#native.openProject(String(path), stateDir ?? null, e))
    if (!(opened instanceof native.NativeProject)) throw workerError(opened, [])
    return new Project(opened, this.#poller)
  }

  /** Starts a native call and lets the poller watch for its answer. */
  #call(method, ...args) {
    const promise = guarded(() => this.#native[method](...args))
    this.#poller.started()
    return promise
  }

  /** Stops the engine; later calls reject. Resolves when in-flight work has finished. */
  close() {
    return this.#native.close()
  }
}

/** A wrangler project running in an engine (Engine#openProject). */
class Project {
  #native
  #poller

  constructor(handle, poller) {
    this.#native = handle
    this.#poller = poller
  }

  /** The project's name: wrangler's `name`, else the script's file name without extension. */
  get name() {
    return this.#native.name
  }

  /** One request as `wk serve` handles it: static assets where routing says so, else the worker. */
  async fetch(request) {
    let parts = requestParts(request)
    if (parts instanceof Promise) parts = await parts
    const promise = guarded(() => this.#native.fetch(...parts))
    this.#poller.started()
    return answer(await promise)
  }

  /** Stops the project's queue consumers. */
  close() {
    return this.#native.close()
  }
}

/** A wrangler config file (.jsonc, .json or .toml) parsed to a plain object. */
function readConfig(path) {
  return JSON.parse(native.readConfig(String(path)))
}

/** Orders KV keys as Workers KV lists them: by their UTF-8 bytes. */
function compareKeys(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

module.exports = {
  Engine,
  Env,
  Project,
  WorkerResponse,
  readConfig,
  compareKeys,
  SqliteKv: native.SqliteKv,
  FsR2: native.FsR2,
  SqliteD1: native.SqliteD1,
  SqliteQueue: native.SqliteQueue,
  DirAssets: native.DirAssets,
  MemoryCache: native.MemoryCache,
  ...errors,
}
delete module.exports.workerError
