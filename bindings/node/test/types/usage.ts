// Compiled with `tsc --noEmit --strict` by types.test.js: the README's uses of the API must
// type-check against index.d.ts, and misuses must not.
import {
  Engine, Env, SqliteKv, SqliteQueue, QueueBroker, MemoryCache, DirAssets, JSException, WorkerError, compareKeys, readConfig,
  type KvStore, type R2Store, type D1Store, type CacheStore, type QueueStore, type QueueEvent, type WorkerResponse,
} from 'worker-runtime'

const map = new Map<string, { value: Buffer; expiration?: number; metadata?: unknown }>()
const kv: KvStore = {
  get: (key) => map.get(key) ?? null,
  put: (key, value, { expiration, metadata }) => void map.set(key, { value, expiration, metadata }),
  delete: (key) => void map.delete(key),
  list: async ({ prefix, limit, cursor }) => {
    const names = [...map.keys()].filter((k) => k.startsWith(prefix) && (!cursor || compareKeys(k, cursor) > 0)).sort(compareKeys)
    const page = names.slice(0, limit)
    return { keys: page.map((name) => ({ name })), list_complete: page.length === names.length, cursor: page.at(-1) }
  },
}
const r2: R2Store = {
  get: (key) => null,
  put: (key, body, object) => {},
  delete: (keys) => {},
  list: (o) => ({ objects: [], truncated: false }),
}
const d1: D1Store = { query: (q) => ({ results: q.statements.map(() => ({ columns: ['a'], rows: [[1n]] })) }) }
const cache: CacheStore = { get: () => null, put: () => {}, delete: async () => true }
const queue: QueueStore = { send: (messages) => { for (const m of messages) m.body.length } }

async function main(): Promise<void> {
  const engine = new Engine({ poolSize: 2, cpuTimeMs: 50, busyPollMicros: 100 }, { sourceLoader: async (site, deploy) => `export default {}` })
  const env = new Env({ vars: { A: 'x', B: { n: 1 } }, kv: { KV: kv, LOCAL: new SqliteKv('kv.sqlite') }, r2: { B: r2 }, d1: { DB: d1 },
    queues: { Q: queue }, assets: { ASSETS: new DirAssets('public', { htmlHandling: 'none' }) }, cache })
  const r: WorkerResponse = await engine.execute('site', 'v1', env, { method: 'POST', url: 'https://x/', headers: [['a', 'b']], body: 'hi' })
  const status: number = r.status
  const pairs: Array<[string, string]> = r.headers
  const fn = await engine.executeFunction<number>('site', 'v1', { cache: new MemoryCache() }, 'add', 1, 2)
  const n: number = fn.value
  const code: Buffer = await engine.compileAndCache('site', 'v2', { modules: [{ name: 'a.js', content: 'export default {}' }] })
  const batch = await engine.executeQueue('site', 'v1', env, 'jobs', [{ id: '1', body: '{"a":1}' }, { id: '2', body: Buffer.from('x'), contentType: 'bytes', timestamp: new Date(), attempts: 2 }])
  const delays: Array<number | null> = batch.outcomes.map((o) => (o.ack ? null : o.retryDelaySeconds))
  if (batch.error) console.log(batch.error.kind, batch.error.jsStack)
  const onEvent = (e: QueueEvent): void => {
    if (e.type === 'delivered') console.log(e.ids.length, e.result.outcomes.length)
    else if (e.type === 'deadLettered') console.log(e.deadLetterQueue)
  }
  const broker = new QueueBroker(engine, { onEvent })
  broker.consume({ queue: 'jobs', store: new SqliteQueue('jobs.sqlite'), siteId: 'site', deployKey: 'v1', env, maxRetries: 1,
    deadLetter: { queue: 'failed', store: new SqliteQueue('failed.sqlite') } })
  await broker.close()
  const project = await engine.openProject('wrangler.jsonc', { stateDir: '/tmp/s', env: { kv: { KV: kv } }, onQueueEvent: onEvent })
  const name: string = project.name
  const warnings: string[] = project.warnings
  await project.fetch('https://x/')
  await project.close()
  const config: Record<string, any> = readConfig('wrangler.jsonc')
  try {
    await engine.execute('site', 'v1', null, 'https://x/')
  } catch (e) {
    if (e instanceof JSException) console.log(e.jsName, e.jsStack, e.location satisfies string | null)
    if (e instanceof WorkerError) console.log(e.kind)
  }
  await engine.close()
  void [status, pairs, n, code, name, config, delays, warnings]
}
void main

// @ts-expect-error: a KV get must not answer a number
const badKv: KvStore = { ...kv, get: () => 42 }
// @ts-expect-error: unknown engine option
new Engine({ poolSiz: 2 })
// @ts-expect-error: execute needs a request
new Engine().execute('s', 'v1', null)
// @ts-expect-error: a queue message needs an id
new Engine().executeQueue('s', 'v1', null, 'q', [{ body: 'x' }])
// @ts-expect-error: a broker consumes embedded queues only
new QueueBroker(new Engine()).consume({ queue: 'q', store: { send: () => {} }, siteId: 's', deployKey: 'v1' })
void badKv
