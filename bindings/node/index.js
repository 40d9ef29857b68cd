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

  /** Makes a native call (`start()` returns its pending promise) and watches for its answer. */
  watch(start) {
    const promise = guarded(start)
    if (this.#windowMs <= 0) return promise
    this.#until = performance.now() + this.#windowMs
    if (!this.#active) {
      this.#active = true
      this.#native.poll(true)
      setImmediate(this.#tick)
    }
    return promise
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

// ---------------------------------------------------------------- queues

const CONTENT_TYPES = ['json', 'text', 'bytes', 'v8']
/** Cloudflare's largest batch, and the most a consumer may ask for. */
const MAX_BATCH = 100

function nonEmptyString(v, what) {
  if (typeof v !== 'string' || v === '') throw new TypeError(`${what} must be a non-empty string`)
  return v
}

/** An integer in [min, max], else a RangeError naming the option (TypeError when not a number). */
function integerIn(v, min, max, what) {
  if (typeof v !== 'number') throw new TypeError(`${what} must be a number`)
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${v}`)
  return v
}

function timestampMs(v, what) {
  const ms = v instanceof Date ? v.getTime() : v
  if (typeof ms !== 'number') throw new TypeError(`${what} must be milliseconds since the epoch or a Date`)
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`${what} must be a time after 1970, got ${v}`)
  return ms
}

/** The messages of one batch in the shape the native side reads; throws on anything it would not deliver. */
function queueBatch(messages) {
  if (!Array.isArray(messages)) throw new TypeError('messages must be an array of {id, body, contentType, timestamp, attempts}')
  if (messages.length === 0 || messages.length > MAX_BATCH) {
    throw new RangeError(`a batch holds 1 to ${MAX_BATCH} messages, got ${messages.length}`)
  }
  const now = Date.now()
  return messages.map((m, i) => {
    const at = `messages[${i}]`
    if (m === null || typeof m !== 'object') throw new TypeError(`${at} must be an object {id, body, ...}`)
    const { id, body, contentType = 'json', timestamp = now, attempts = 1 } = m
    if (!CONTENT_TYPES.includes(contentType)) {
      throw new TypeError(`${at}.contentType must be one of ${CONTENT_TYPES.map((t) => `'${t}'`).join(', ')}, got ${JSON.stringify(contentType)}`)
    }
    return {
      id: nonEmptyString(id, `${at}.id`),
      timestamp: timestampMs(timestamp, `${at}.timestamp`),
      contentType,
      body: stores.toBuffer(body, `${at}.body`),
      attempts: integerIn(attempts, 1, 2 ** 32 - 1, `${at}.attempts`),
    }
  })
}

/** A queue handler's result: `error` is a WorkerError (not thrown: the outcomes still count). */
function queueResult(raw) {
  return {
    outcomes: raw.outcomes.map((o) => ({ ack: o.ack, retryDelaySeconds: o.retryDelaySeconds ?? null })),
    logs: raw.logs,
    durationMs: raw.durationMs,
    error: raw.error ? workerError(raw.error, raw.logs) : null,
  }
}

function brokerEvent(raw) {
  switch (raw.type) {
    case 'delivered':
      return { type: raw.type, queue: raw.queue, ids: raw.ids, result: queueResult(raw.result) }
    case 'deadLettered':
      return { type: raw.type, queue: raw.queue, deadLetterQueue: raw.deadLetterQueue, id: raw.id }
    case 'dropped':
      return { type: raw.type, queue: raw.queue, id: raw.id, attempts: raw.attempts }
    default:
      return { type: raw.type, queue: raw.queue, message: raw.message }
  }
}

function warnListenerFailed(what, e) {
  const text = e instanceof Error ? e.message : String(e)
  process.emitWarning(`${what} threw: ${text}`, {
    type: 'WorkerRuntimeWarning',
    code: 'WORKER_RUNTIME_QUEUE_LISTENER',
    detail: e instanceof Error ? e.stack : undefined,
  })
}

/**
 * What the native broker calls on Node's loop for each event. A listener that throws (or
 * rejects) is reported as a process warning: the broker carries on, and so does the process.
 */
function eventListener(listener, what) {
  if (listener === undefined || listener === null) return null
  if (typeof listener !== 'function') throw new TypeError(`${what} must be a function (event) => void`)
  return (raw) => {
    try {
      const r = listener(brokerEvent(raw))
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, (e) => warnListenerFailed(what, e))
    } catch (e) {
      warnListenerFailed(what, e)
    }
  }
}

/** What a QueueBroker needs of its engine, which keeps it from the public API. */
const engineParts = new WeakMap()

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
  /** Brokers and projects to stop before the engine. */
  #owned = new Set()

  constructor(config = {}, { sourceLoader } = {}) {
    const { busyPollMicros = 50, ...engineConfig } = config ?? {}
    if (typeof busyPollMicros !== 'number' || !(busyPollMicros >= 0)) {
      throw new TypeError('busyPollMicros must be a number >= 0')
    }
    const loader = sourceLoader === undefined ? null : stores.loaderDispatcher(sourceLoader)
    this.#native = new native.NativeEngine(engineConfig, loader)
    this.#poller = new Poller(this.#native, busyPollMicros / 1000)
    engineParts.set(this, { native: this.#native, owned: this.#owned })
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
    return answer(await this.#poller.watch(() => this.#native.execute(siteId, deployKey, e, ...parts)))
  }

  /**
   * Calls the worker's named export (a function, or a method of its default export) with
   * `(env, ...args)`; args and the result cross as JSON. Resolves to {value, logs, durationMs}.
   */
  async executeFunction(siteId, deployKey, env, name, ...args) {
    const e = nativeEnv(env)
    const json = JSON.stringify(args)
    const raw = await this.#poller.watch(() => this.#native.executeFunction(siteId, deployKey, e, name, json))
    if (raw.error) throw workerError(raw.error, raw.logs)
    const value = raw.data === null || raw.data === undefined ? null : JSON.parse(raw.data)
    return { value, logs: raw.logs, durationMs: raw.durationMs }
  }

  /**
   * Delivers `messages` as one batch of the queue named `queue` to the worker's queue() handler,
   * in the same isolate as its fetch requests. Resolves to {outcomes, logs, durationMs, error}
   * with one {ack, retryDelaySeconds} per message, in order: messages the handler did not
   * decide are acked when it succeeded and retried when it failed, in which case `error` is the
   * WorkerError (the promise does not reject: the outcomes still matter).
   */
  async executeQueue(siteId, deployKey, env, queue, messages) {
    const name = nonEmptyString(queue, 'queue')
    const batch = queueBatch(messages)
    const e = nativeEnv(env)
    const raw = await this.#poller.watch(() => this.#native.queue(siteId, deployKey, e, name, batch))
    return queueResult(raw)
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
   * case the host's store replaces it. `onQueueEvent(event)` hears what its queue consumers do
   * (the events of QueueBroker).
   */
  async openProject(path, { stateDir, env, onQueueEvent } = {}) {
    const e = nativeEnv(env)
    const listener = eventListener(onQueueEvent, 'onQueueEvent')
    const opened = await guarded(() => this.#native.openProject(String(path), stateDir ?? null, e, listener))
    if (!(opened instanceof native.NativeProject)) throw workerError(opened, [])
    return new Project(opened, this.#poller, this.#owned)
  }

  /**
   * Stops the engine, with its queue brokers and projects; later calls reject. Resolves when
   * in-flight work has finished.
   */
  async close() {
    const owned = [...this.#owned].map((o) => o.close())
    await Promise.all([...owned, this.#native.close()])
  }
}

/** A wrangler project running in an engine (Engine#openProject). */
class Project {
  #native
  #poller
  #owners
  #warnings

  constructor(handle, poller, owners) {
    this.#native = handle
    this.#poller = poller
    this.#owners = owners
    this.#warnings = handle.warnings
    owners.add(this)
  }

  /** The project's name: wrangler's `name`, else the script's file name without extension. */
  get name() {
    return this.#native.name
  }

  /** What the config asks for that libworker ignores (unsupported bindings and settings). */
  get warnings() {
    return [...this.#warnings]
  }

  /** One request as `wk serve` handles it: static assets where routing says so, else the worker. */
  async fetch(request) {
    let parts = requestParts(request)
    if (parts instanceof Promise) parts = await parts
    return answer(await this.#poller.watch(() => this.#native.fetch(...parts)))
  }

  /** Stops the project's queue consumers. */
  close() {
    this.#owners.delete(this)
    return this.#native.close()
  }
}

/**
 * Delivers embedded queues (SqliteQueue) to workers' queue() handlers on a thread of its own,
 * batching, retrying and dead-lettering as Cloudflare does. `onEvent(event)` runs on Node's
 * event loop for every delivery, dead-lettered or dropped message and storage error; without it,
 * drops and storage errors go to stderr. An idle broker does not keep the process alive.
 */
class QueueBroker {
  #native
  #owners

  constructor(engine, { onEvent } = {}) {
    const parts = engineParts.get(engine)
    if (!parts) throw new TypeError('new QueueBroker(engine): engine must be an Engine')
    const listener = eventListener(onEvent, 'onEvent')
    this.#native = guarded(() => new native.NativeQueueBroker(parts.native, listener))
    this.#owners = parts.owned
    this.#owners.add(this)
  }

  /**
   * Starts delivering `store` (the queue named `queue`) to worker (siteId, deployKey), which
   * runs with `env`. A queue name consumed again replaces its consumer. Messages still failing
   * after `maxRetries` retries go to `deadLetter.store`, or are dropped without one.
   */
  consume({
    queue,
    store,
    siteId,
    deployKey,
    env,
    maxBatchSize = 10,
    maxBatchTimeoutMs = 5000,
    maxRetries = 3,
    retryDelaySeconds = 0,
    deadLetter,
  } = {}) {
    nonEmptyString(queue, 'queue')
    if (!(store instanceof native.SqliteQueue)) throw new TypeError('store must be a SqliteQueue')
    nonEmptyString(siteId, 'siteId')
    nonEmptyString(deployKey, 'deployKey')
    const options = {
      maxBatchSize: integerIn(maxBatchSize, 1, MAX_BATCH, 'maxBatchSize'),
      maxBatchTimeoutMs: integerIn(maxBatchTimeoutMs, 0, 60_000, 'maxBatchTimeoutMs'),
      maxRetries: integerIn(maxRetries, 0, 100, 'maxRetries'),
      retryDelaySeconds: integerIn(retryDelaySeconds, 0, 43_200, 'retryDelaySeconds'),
    }
    let deadLetterQueue = null
    let deadLetterStore = null
    if (deadLetter !== undefined && deadLetter !== null) {
      deadLetterQueue = nonEmptyString(deadLetter.queue, 'deadLetter.queue')
      if (deadLetterQueue === queue) throw new TypeError(`deadLetter.queue must differ from the queue it serves (${queue})`)
      if (!(deadLetter.store instanceof native.SqliteQueue)) throw new TypeError('deadLetter.store must be a SqliteQueue')
      deadLetterStore = deadLetter.store
    }
    const e = nativeEnv(env)
    guarded(() => this.#native.consume(queue, store, siteId, deployKey, e, options, deadLetterQueue, deadLetterStore))
  }

  /**
   * Stops every consumer once its batch in flight is done. Undelivered messages stay in their
   * queue files. Idempotent; Engine#close closes the engine's brokers too.
   */
  close() {
    this.#owners.delete(this)
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
  QueueBroker,
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
