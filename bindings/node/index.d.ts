// Types for worker-runtime: libworker for Node.js.

/// <reference types="node" />

/** Something a host may answer with: a value or a Promise of it. */
export type Awaitable<T> = T | Promise<T>

export type Bytes = Uint8Array | ArrayBuffer | Buffer

/** Headers as ordered [name, value] pairs (repeats kept), a record, or a Headers-like iterable. */
export type HeadersInit =
  | ReadonlyArray<readonly [string, string]>
  | Record<string, string | readonly string[]>
  | { entries(): IterableIterator<[string, string]>; get(name: string): string | null }

export interface EngineConfig {
  /** Executor threads (default: the number of cores). */
  poolSize?: number
  /** V8 heap limit per worker isolate, MiB (default 128). */
  memoryLimitMb?: number
  /** CPU time per request, ms (default 30000). */
  cpuTimeMs?: number
  /** Wall time per request, ms (default 60000). */
  wallTimeMs?: number
  /** Subrequests (fetch and binding calls) per request (default 1000). */
  maxSubrequests?: number
  /** Largest response body, bytes (default 100 MiB). */
  maxResponseBytes?: number
  /** Worker isolates kept resident; least recently used are evicted (default 1000). */
  maxResidentWorkers?: number
  /** Blank isolates each thread keeps booted (default 2). */
  warmIsolates?: number
  /** Allow eval and new Function (off, as on Cloudflare). */
  allowCodeGeneration?: boolean
  /**
   * How long after each call starts Node's loop keeps turning (never blocking) to pick up the
   * answer instead of sleeping until woken, in microseconds (default 50; 0 turns it off).
   */
  busyPollMicros?: number
}

export type ModuleType = 'esm' | 'script' | 'text' | 'json' | 'data'

export interface WorkerModule {
  /** Path-like name that relative imports resolve against, e.g. `src/index.js`. */
  name: string
  /** Default: by extension (.js/.mjs esm, .txt/.html text, .json json, .bin/.wasm data); the
   * main module is a service-worker script when it has no import/export lines. */
  type?: ModuleType
  content: string | Bytes
}

/** A worker's code: one file (ES module or service-worker script), or modules. */
export type WorkerSource = string | { mainModule?: string; modules: WorkerModule[] }

export type SourceLoader = (siteId: string, deployKey: string) => Awaitable<WorkerSource>

export interface EngineOptions {
  /** Supplies a worker's code the first time (siteId, deployKey) is executed. */
  sourceLoader?: SourceLoader
}

export interface WorkerRequestInit {
  method?: string
  /** Absolute URL. */
  url: string | URL
  headers?: HeadersInit
  body?: string | Bytes | null
}

/** A URL string (GET), a request object, or a WHATWG Request. */
export type WorkerRequest = string | URL | WorkerRequestInit | Request

export interface LogEntry {
  level: 'debug' | 'log' | 'info' | 'warn' | 'error'
  message: string
}

export declare class WorkerResponse {
  readonly status: number
  readonly statusText: string
  /** [name, value] pairs in order; repeated headers (Set-Cookie) stay separate. */
  readonly headers: Array<[string, string]>
  readonly body: Buffer
  readonly logs: LogEntry[]
  readonly durationMs: number
  /** The worker called ctx.passThroughOnException() before failing. */
  readonly passThrough: boolean
  /** Every value of a header (case-insensitive) joined with ", "; null when absent. */
  header(name: string): string | null
  text(): string
  json<T = unknown>(): T
}

export interface FunctionResult<T = unknown> {
  value: T
  logs: LogEntry[]
  durationMs: number
}

// ---------------------------------------------------------------- stores

/** A KV value as `get` may answer it. */
export type KvValue = string | Bytes | { value: string | Bytes; metadata?: unknown; expiration?: number }

export interface KvKey {
  name: string
  /** Seconds since the epoch. */
  expiration?: number
  metadata?: unknown
}

/**
 * A KV namespace's storage. Keys list in UTF-8 byte order (see `compareKeys`); expired keys must
 * not be listed (the runtime already hides expired values on `get`).
 */
export interface KvStore {
  get(key: string): Awaitable<KvValue | null | undefined>
  put(key: string, value: Buffer, options: { expiration?: number; metadata?: unknown }): Awaitable<void>
  delete(key: string): Awaitable<void>
  list(options: { prefix: string; limit: number; cursor?: string }): Awaitable<{
    keys: KvKey[]
    list_complete: boolean
    cursor?: string
  }>
}

/** R2 object metadata as the runtime computes it on put and a bucket hands back. */
export interface R2ObjectInfo {
  key: string
  version: string
  size: number
  etag: string
  /** Milliseconds since the epoch. */
  uploaded: number
  httpMetadata: {
    contentType?: string
    contentLanguage?: string
    contentDisposition?: string
    contentEncoding?: string
    cacheControl?: string
    cacheExpiry?: number
  }
  customMetadata: Record<string, string>
  checksums: { md5?: string; sha1?: string; sha256?: string; sha384?: string; sha512?: string }
  storageClass: string
}

/**
 * An R2 bucket that keeps whole objects. The runtime computes each object's metadata (size,
 * etag, checksums, upload time) and applies `onlyIf` conditions and ranges itself.
 */
export interface R2Store {
  get(key: string): Awaitable<{ object: R2ObjectInfo; body: string | Bytes } | null | undefined>
  put(key: string, body: Buffer, object: R2ObjectInfo): Awaitable<void>
  delete(keys: string[]): Awaitable<void>
  list(options: {
    limit: number
    prefix: string
    cursor: string | null
    delimiter: string | null
    startAfter: string | null
    include: Array<'httpMetadata' | 'customMetadata'>
  }): Awaitable<{ objects: R2ObjectInfo[]; truncated: boolean; cursor?: string; delimitedPrefixes?: string[] }>
}

/** A SQL value: BLOBs are Buffers, integers beyond 2^53 BigInts. */
export type D1Value = null | number | bigint | string | Buffer

export interface D1Query {
  /** 'query': all statements in one transaction. 'exec': one by one, stop at the first failure. */
  mode: 'query' | 'exec'
  /** 'first-primary', 'first-unconstrained' or a bookmark. */
  session: string
  statements: Array<{ sql: string; params: D1Value[] }>
}

export interface D1Answer {
  results: Array<{
    columns: string[]
    rows: Array<Array<D1Value | boolean | Uint8Array | ArrayBuffer>>
    meta?: {
      duration?: number
      changes?: number
      last_row_id?: number
      rows_read?: number
      rows_written?: number
      changed_db?: boolean
      size_after?: number
      served_by?: string
      served_by_region?: string
      served_by_primary?: boolean
    }
  }>
  /** Must compare greater for newer states of the database. */
  bookmark?: string
}

/** A D1 database. Throwing fails the call (`D1_ERROR: message`); a failing statement answers
 * `{error, statement}` (its index). */
export interface D1Store {
  query(query: D1Query): Awaitable<D1Answer | { error: string; statement?: number }>
  /** The database file's bytes (SQLite format); omit or answer null when dumps are unsupported. */
  dump?(): Awaitable<Bytes | null>
}

export interface CachedEntry {
  status: number
  headers: Array<[string, string]>
  body: Buffer
  /** Milliseconds since the epoch. */
  expiresAt: number
}

/** Keyed storage behind the Cache API. `cacheName` is null for caches.default. The runtime
 * applies the HTTP caching rules; expired entries are never served. */
export interface CacheStore {
  get(cacheName: string | null, url: string): Awaitable<(Omit<CachedEntry, 'body' | 'headers'> & { body: string | Bytes; headers: HeadersInit }) | null | undefined>
  put(cacheName: string | null, url: string, entry: CachedEntry): Awaitable<void>
  /** Whether an entry was removed. */
  delete(cacheName: string | null, url: string): Awaitable<boolean>
}

export interface AssetRequest {
  method: string
  url: string
  headers: Array<[string, string]>
}

export type AssetAnswer = Response | { status?: number; headers?: HeadersInit; body?: string | Bytes } | null | undefined

/** A static-assets server: a function or an object with fetch; null answers 404. */
export type AssetsStore = ((request: AssetRequest) => Awaitable<AssetAnswer>) | { fetch(request: AssetRequest): Awaitable<AssetAnswer> }

export interface QueueMessage {
  /** The encoded body: JSON text for 'json', UTF-8 for 'text', raw bytes for 'bytes', V8 serialization for 'v8'. */
  body: Buffer
  contentType: 'json' | 'text' | 'bytes' | 'v8'
  delaySeconds: number | null
}

export interface QueueMetrics {
  backlogCount?: number
  backlogBytes?: number
  oldestMessageTimestamp?: number
}

/** A queue producer. Checks (sizes, content types, delays) have already been applied. */
export interface QueueStore {
  send(messages: QueueMessage[]): Awaitable<QueueMetrics | void>
  metrics?(): Awaitable<QueueMetrics>
}

// ---------------------------------------------------------------- embedded stores

/** The embedded KV namespace: one SQLite file. */
export declare class SqliteKv {
  constructor(path: string)
}
/** The embedded R2 bucket: files plus a SQLite index under a directory. */
export declare class FsR2 {
  constructor(dir: string)
}
/** The embedded D1 database: one SQLite file. */
export declare class SqliteD1 {
  constructor(path: string)
}
/** The embedded queue: one SQLite file. Workers send to it; a QueueBroker delivers from it. */
export declare class SqliteQueue {
  /** Only a SqliteQueue will do where one is asked for (a QueueBroker reads its file itself). */
  private readonly embeddedQueue: true
  constructor(path: string)
}
/** The embedded static-assets server with Cloudflare's rules. */
export declare class DirAssets {
  constructor(
    dir: string,
    options?: {
      htmlHandling?: 'auto-trailing-slash' | 'force-trailing-slash' | 'drop-trailing-slash' | 'none'
      notFoundHandling?: 'none' | 'single-page-application' | '404-page'
    }
  )
}
/** An in-memory Cache API store (least recently used entries go past the budget). */
export declare class MemoryCache {
  constructor(budgetBytes?: number)
}

// ---------------------------------------------------------------- env, engine, project

export interface EnvSpec {
  /** Strings become text vars; other JSON values JSON vars. */
  vars?: Record<string, unknown>
  secrets?: Record<string, string>
  kv?: Record<string, KvStore | SqliteKv>
  r2?: Record<string, R2Store | FsR2>
  d1?: Record<string, D1Store | SqliteD1>
  queues?: Record<string, QueueStore | SqliteQueue>
  assets?: Record<string, AssetsStore | DirAssets>
  /** The store behind `caches` (default: the engine's in-memory cache, per site). */
  cache?: CacheStore | MemoryCache
}

/** The env a worker sees. Build once, pass to every call. */
export declare class Env {
  constructor(spec?: EnvSpec)
}

/** An Env, a spec (converted once per object), or nothing. */
export type EnvLike = Env | EnvSpec | null | undefined

// ---------------------------------------------------------------- queue consumers

/** One message for a worker's queue() handler (Engine#executeQueue). */
export interface QueueDelivery {
  /** Stable across redeliveries (`message.id`). */
  id: string
  /** Encoded as `contentType` says: JSON text for 'json' (the default), UTF-8 for 'text', raw bytes for 'bytes', V8 serialization for 'v8'. */
  body: string | Bytes
  contentType?: 'json' | 'text' | 'bytes' | 'v8'
  /** When it was sent: ms since the epoch or a Date (default: now). */
  timestamp?: number | Date
  /** 1 on the first delivery (the default), one more on every retry. */
  attempts?: number
}

/** What the handler decided for one message. */
export interface QueueOutcome {
  /** true: done, delete it; false: deliver it again. */
  ack: boolean
  /** The delay the worker asked for with retry({delaySeconds}); null when it gave none (or acked). */
  retryDelaySeconds: number | null
}

/** What a queue() handler did with a batch: one outcome per message, in order. */
export interface QueueResult {
  outcomes: QueueOutcome[]
  logs: LogEntry[]
  durationMs: number
  /** Why the handler failed (its undecided messages are then retried); null when it succeeded. */
  error: WorkerError | null
}

/** What a QueueBroker (or a project's queue consumers) did. */
export type QueueEvent =
  /** A batch went to the worker. */
  | { type: 'delivered'; queue: string; ids: string[]; result: QueueResult }
  /** A message ran out of retries and moved to the dead-letter queue. */
  | { type: 'deadLettered'; queue: string; deadLetterQueue: string; id: string }
  /** A message ran out of retries and, with no dead-letter queue, was deleted. */
  | { type: 'dropped'; queue: string; id: string; attempts: number }
  /** The queue's file failed; the broker tries again later. */
  | { type: 'storageError'; queue: string; message: string }

/** Runs on Node's event loop; throwing (or rejecting) becomes a process warning. */
export type QueueEventListener = (event: QueueEvent) => void | Promise<void>

/** wrangler's `queues.consumers` entry for one embedded queue. */
export interface QueueConsumerOptions {
  /** The queue's name: `batch.queue`, and `queue` in events. */
  queue: string
  store: SqliteQueue
  /** The consuming worker and the env it runs with. */
  siteId: string
  deployKey: string
  env?: EnvLike
  /** At most this many messages per batch, 1..100 (default 10). */
  maxBatchSize?: number
  /** How long a partial batch waits for more, 0..60000 ms (default 5000). */
  maxBatchTimeoutMs?: number
  /** Retries before a message is dead-lettered or dropped, 0..100 (default 3). */
  maxRetries?: number
  /** Delay of retries the worker gave none for, seconds (default 0). */
  retryDelaySeconds?: number
  /** Where messages out of retries go; without it they are dropped. */
  deadLetter?: { queue: string; store: SqliteQueue }
}

/**
 * Delivers embedded queues to workers' queue() handlers on a thread of its own, batching,
 * retrying and dead-lettering as Cloudflare does. An idle broker does not keep the process alive.
 */
export declare class QueueBroker {
  /** Without `onEvent`, drops and storage errors are written to stderr. */
  constructor(engine: Engine, options?: { onEvent?: QueueEventListener })
  /** Starts delivering a queue; consuming a queue name again replaces its consumer. */
  consume(options: QueueConsumerOptions): void
  /** Stops the consumers after their batches in flight; messages stay in their files. */
  close(): Promise<void>
}

// ---------------------------------------------------------------- engine and project

export declare class Engine {
  constructor(config?: EngineConfig, options?: EngineOptions)
  /** The V8 version workers run on (libworker's, not Node's). */
  static readonly v8Version: string
  /** Runs the worker's fetch handler. Rejects with a WorkerError subclass when the worker fails. */
  execute(siteId: string, deployKey: string, env: EnvLike, request: WorkerRequest): Promise<WorkerResponse>
  /** Calls a named export with (env, ...args); args and result cross as JSON. */
  executeFunction<T = unknown>(siteId: string, deployKey: string, env: EnvLike, name: string, ...args: unknown[]): Promise<FunctionResult<T>>
  /**
   * Delivers messages as one batch of `queue` to the worker's queue() handler. A failing handler
   * does not reject: `error` says why and the outcomes still count.
   */
  executeQueue(siteId: string, deployKey: string, env: EnvLike, queue: string, messages: QueueDelivery[]): Promise<QueueResult>
  /** Compiles a worker (ScriptError with file:line:col if it does not); resolves to V8's code cache. */
  compileAndCache(siteId: string, deployKey: string, source: WorkerSource): Promise<Buffer>
  /** Opens a wrangler project (config file, directory or script) as `wk serve` runs it. */
  openProject(path: string, options?: { stateDir?: string; env?: EnvLike; onQueueEvent?: QueueEventListener }): Promise<Project>
  /** Stops the engine, its queue brokers and projects; later calls reject with InternalError. */
  close(): Promise<void>
}

export declare class Project {
  /** wrangler's `name`, else the script's file name without extension. */
  readonly name: string
  /** What the config asks for that libworker ignores (unsupported settings and bindings). */
  readonly warnings: string[]
  /** One request: static assets where the routing rules say so, else the worker. */
  fetch(request: WorkerRequest): Promise<WorkerResponse>
  /** Stops the project's queue consumers. */
  close(): Promise<void>
}

/** A wrangler config (.jsonc, .json or .toml) parsed to a plain object. */
export declare function readConfig(path: string): Record<string, any>

/** Orders KV keys as Workers KV lists them: by their UTF-8 bytes. */
export declare function compareKeys(a: string, b: string): number

// ---------------------------------------------------------------- errors

export type ErrorKind =
  | 'exception'
  | 'script'
  | 'scriptNotFound'
  | 'badHandler'
  | 'exceededCpu'
  | 'exceededMemory'
  | 'exceededWallTime'
  | 'exceededResponseSize'
  | 'internalError'

export declare class WorkerError extends Error {
  readonly kind: ErrorKind
  /** The JS error's name inside the worker (TypeError, ...), '' for non-JS failures. */
  readonly jsName: string
  readonly jsStack: string
  /** file:line:col when known. */
  readonly location: string | null
  readonly logs: LogEntry[]
}
/** The worker threw, or its promise rejected, and nothing caught it. */
export declare class JSException extends WorkerError {}
/** The worker's code failed to compile or to evaluate at startup. */
export declare class ScriptError extends WorkerError {}
/** The source loader could not supply the worker. */
export declare class ScriptNotFoundError extends WorkerError {}
/** The handler is missing or did not return a Response. */
export declare class BadHandlerError extends WorkerError {}
/** A limit was exceeded; `kind` says which. */
export declare class LimitError extends WorkerError {}
/** The engine is closed or broke down. */
export declare class InternalError extends WorkerError {}
