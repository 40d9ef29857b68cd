'use strict'
// Queues: batches delivered to a worker's queue() handler (Engine#executeQueue), the embedded
// broker delivering SQLite queues with retries and dead letters (QueueBroker), and a wrangler
// project's consumers reporting through onQueueEvent.
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Engine, Env, QueueBroker, SqliteQueue, JSException, ScriptError, InternalError } = require('..')
const { tick } = require('./helpers.js')

const PKG = path.join(__dirname, '..')
const workers = new Map()
const engine = new Engine({ poolSize: 2 }, { sourceLoader: (site) => workers.get(site) })
test.after(() => engine.close())

let n = 0
/** A fresh site id serving `source`. */
function worker(source) {
  const site = `q${n++}`
  workers.set(site, source)
  return site
}

function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-node-queue-'))
  test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Resolves once `ready()` holds (checked every few ms; the timer keeps Node's loop alive). */
async function until(ready, what, ms = 20_000) {
  const deadline = Date.now() + ms
  while (!ready()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await tick(5)
  }
}

// ---------------------------------------------------------------- executeQueue

const DECIDING = `export default { async queue(batch, env) {
  console.log(JSON.stringify({ queue: batch.queue, messages: batch.messages.map((m) => ({
    id: m.id, attempts: m.attempts, timestamp: m.timestamp.getTime(),
    body: m.body instanceof ArrayBuffer ? [...new Uint8Array(m.body)] : m.body })) }))
  for (const m of batch.messages) {
    if (typeof m.body !== 'object' || m.body instanceof ArrayBuffer || m.body.ok) m.ack()
    else if ('later' in m.body) m.retry({ delaySeconds: m.body.later })
    else m.retry()
  }
} }`

test('executeQueue: the handler acks some messages and retries others, with and without a delay', async () => {
  const site = worker(DECIDING)
  const sent = new Date('2024-05-01T10:00:00Z')
  const before = Date.now()
  const r = await engine.executeQueue(site, 'v1', null, 'jobs', [
    { id: 'a', body: '{"ok":true}', timestamp: sent },
    { id: 'b', body: Buffer.from('{"later":30}'), attempts: 3 },
    { id: 'c', body: '{}', timestamp: sent.getTime() },
    { id: 'd', body: 'plain words', contentType: 'text' },
    { id: 'e', body: new Uint8Array([1, 2, 3]).buffer, contentType: 'bytes' },
  ])
  assert.equal(r.error, null)
  assert.deepEqual(r.outcomes, [
    { ack: true, retryDelaySeconds: null },
    { ack: false, retryDelaySeconds: 30 },
    { ack: false, retryDelaySeconds: null },
    { ack: true, retryDelaySeconds: null },
    { ack: true, retryDelaySeconds: null },
  ])
  assert.equal(typeof r.durationMs, 'number')
  const seen = JSON.parse(r.logs[0].message)
  assert.equal(seen.queue, 'jobs')
  assert.deepEqual(seen.messages.map((m) => [m.id, m.attempts, m.body]), [
    ['a', 1, { ok: true }],
    ['b', 3, { later: 30 }],
    ['c', 1, {}],
    ['d', 1, 'plain words'],
    ['e', 1, [1, 2, 3]],
  ])
  assert.equal(seen.messages[0].timestamp, sent.getTime())
  assert.equal(seen.messages[2].timestamp, sent.getTime())
  assert.ok(seen.messages[1].timestamp >= before, 'timestamp defaults to now')
})

test('executeQueue: a handler that throws resolves with the error, and the messages it left undecided are retried', async () => {
  const site = worker(`export default { async queue(batch) {
    batch.messages[0].ack()
    batch.messages[1].retry({ delaySeconds: 5 })
    console.warn('about to fail')
    throw new TypeError('handler broke')
  } }`)
  const r = await engine.executeQueue(site, 'v1', new Env(), 'jobs', [
    { id: '1', body: '1' },
    { id: '2', body: '2' },
    { id: '3', body: '3' },
  ])
  assert.ok(r.error instanceof JSException)
  assert.equal(r.error.jsName, 'TypeError')
  assert.match(r.error.message, /handler broke/)
  assert.deepEqual(r.error.logs, [{ level: 'warn', message: 'about to fail' }])
  assert.deepEqual(r.outcomes, [
    { ack: true, retryDelaySeconds: null },
    { ack: false, retryDelaySeconds: 5 },
    { ack: false, retryDelaySeconds: null },
  ])
})

test('executeQueue: a worker without a queue handler, or one that cannot load, retries the whole batch', async () => {
  const noHandler = worker('export default { fetch() { return new Response("no queue here") } }')
  const broken = worker('export default { queue(batch) { ')
  for (const [site, Class, message] of [[noHandler, JSException, /does not export a queue\(\) function/], [broken, ScriptError, /worker\.js:1/]]) {
    const r = await engine.executeQueue(site, 'v1', null, 'jobs', [{ id: '1', body: '1' }, { id: '2', body: '2' }])
    assert.ok(r.error instanceof Class, `${r.error?.name}: ${r.error?.message}`)
    assert.match(`${r.error.message} ${r.error.location}`, message)
    assert.deepEqual(r.outcomes, [{ ack: false, retryDelaySeconds: null }, { ack: false, retryDelaySeconds: null }])
  }
})

test('executeQueue: bad input rejects with a TypeError or RangeError saying what is wrong', async () => {
  const site = worker(DECIDING)
  const cases = [
    [[], RangeError, /1 to 100 messages, got 0/],
    [Array.from({ length: 101 }, (_, i) => ({ id: `${i}`, body: '1' })), RangeError, /1 to 100 messages, got 101/],
    ['not a list', TypeError, /messages must be an array/],
    [[{ id: 'x', body: '1', contentType: 'xml' }], TypeError, /messages\[0\]\.contentType must be one of 'json', 'text', 'bytes', 'v8', got "xml"/],
    [[{ id: 'x', body: '1' }, { body: '1' }], TypeError, /messages\[1\]\.id must be a non-empty string/],
    [[{ id: 'x', body: { ok: true } }], TypeError, /messages\[0\]\.body must be a string, Buffer, Uint8Array or ArrayBuffer/],
    [[{ id: 'x', body: '1', attempts: 0 }], RangeError, /messages\[0\]\.attempts must be an integer from 1/],
    [[{ id: 'x', body: '1', timestamp: new Date('nonsense') }], RangeError, /messages\[0\]\.timestamp/],
    [[{ id: 'x', body: '1', timestamp: '2024-01-01' }], TypeError, /messages\[0\]\.timestamp must be milliseconds since the epoch or a Date/],
  ]
  for (const [messages, Class, message] of cases) {
    await assert.rejects(engine.executeQueue(site, 'v1', null, 'jobs', messages), (e) => {
      assert.ok(e instanceof Class, `${e.name}: ${e.message}`)
      assert.match(e.message, message)
      return true
    })
  }
  await assert.rejects(engine.executeQueue(site, 'v1', null, '', [{ id: 'x', body: '1' }]), TypeError)
  // 100 messages is a full batch, not an error.
  const full = await engine.executeQueue(site, 'v1', null, 'jobs', Array.from({ length: 100 }, (_, i) => ({ id: `${i}`, body: '{"ok":1}' })))
  assert.equal(full.outcomes.filter((o) => o.ack).length, 100)
})

// ---------------------------------------------------------------- QueueBroker

test('QueueBroker: delivers what a worker sent through a SqliteQueue, retries, then dead-letters, observed through onEvent', async () => {
  const dir = tempDir()
  const jobs = new SqliteQueue(path.join(dir, 'jobs.sqlite'))
  const failed = new SqliteQueue(path.join(dir, 'failed.sqlite'))
  const producer = worker(`export default { async fetch(req, env) {
    await env.JOBS.sendBatch([{ body: { n: 1, ok: true } }, { body: { n: 2 } }, { body: { n: 3, later: 0 } }])
    return new Response('sent')
  } }`)
  const consumer = worker(DECIDING)
  const inspector = worker(`export default { async queue(batch) {
    console.log(batch.messages.map((m) => m.body.n).sort().join(','))
  } }`)
  const events = []
  const broker = new QueueBroker(engine, { onEvent: (e) => events.push(e) })
  test.after(() => broker.close())
  broker.consume({
    queue: 'jobs', store: jobs, siteId: consumer, deployKey: 'v1', maxBatchTimeoutMs: 0, maxRetries: 2,
    deadLetter: { queue: 'failed', store: failed },
  })
  broker.consume({ queue: 'failed', store: failed, siteId: inspector, deployKey: 'v1', maxBatchTimeoutMs: 50 })

  const res = await engine.execute(producer, 'v1', new Env({ queues: { JOBS: jobs } }), 'https://example.com/')
  assert.equal(res.text(), 'sent')
  await until(() => events.some((e) => e.type === 'delivered' && e.queue === 'failed'), 'the dead letters to be delivered')

  const deliveries = events.filter((e) => e.type === 'delivered' && e.queue === 'jobs')
  // Three messages in the first batch; then the two retried ones until they run out of retries.
  assert.deepEqual(deliveries.map((e) => e.ids.length), [3, 2, 2])
  const [first] = deliveries
  assert.equal(first.result.error, null)
  assert.deepEqual(first.result.outcomes, [
    { ack: true, retryDelaySeconds: null },
    { ack: false, retryDelaySeconds: null },
    { ack: false, retryDelaySeconds: 0 },
  ])
  assert.deepEqual(JSON.parse(first.result.logs[0].message).messages.map((m) => m.attempts), [1, 1, 1])
  assert.deepEqual(JSON.parse(deliveries[2].result.logs[0].message).messages.map((m) => m.attempts), [3, 3])
  const retried = first.ids.slice(1).sort()
  assert.deepEqual(deliveries[2].ids.slice().sort(), retried, 'ids stay the same across redeliveries')

  const deadLettered = events.filter((e) => e.type === 'deadLettered')
  assert.deepEqual(deadLettered.map((e) => [e.queue, e.deadLetterQueue]), [['jobs', 'failed'], ['jobs', 'failed']])
  assert.deepEqual(deadLettered.map((e) => e.id).sort(), retried)
  const dead = events.filter((e) => e.type === 'delivered' && e.queue === 'failed')
  assert.deepEqual(dead.flatMap((e) => e.result.logs.map((l) => l.message)), ['2,3'])
  assert.ok(!events.some((e) => e.type === 'dropped' || e.type === 'storageError'), JSON.stringify(events))
})

test('QueueBroker: without a dead-letter queue, a message out of retries is dropped, and a failing handler shows as the error', async () => {
  const dir = tempDir()
  const jobs = new SqliteQueue(path.join(dir, 'jobs.sqlite'))
  const consumer = worker(`export default { async queue(batch) { throw new Error('consumer down') } }`)
  const events = []
  const broker = new QueueBroker(engine, { onEvent: (e) => events.push(e) })
  test.after(() => broker.close())
  broker.consume({ queue: 'jobs', store: jobs, siteId: consumer, deployKey: 'v1', maxBatchTimeoutMs: 0, maxRetries: 0 })
  const producer = worker(`export default { async fetch(req, env) { await env.JOBS.send('x', { contentType: 'text' }); return new Response('ok') } }`)
  await engine.execute(producer, 'v1', { queues: { JOBS: jobs } }, 'https://example.com/')
  await until(() => events.some((e) => e.type === 'dropped'), 'the message to be dropped')
  const [delivered, dropped] = events
  assert.equal(delivered.type, 'delivered')
  assert.ok(delivered.result.error instanceof JSException)
  assert.match(delivered.result.error.message, /consumer down/)
  assert.deepEqual(dropped, { type: 'dropped', queue: 'jobs', id: delivered.ids[0], attempts: 1 })
})

test('QueueBroker: an onEvent that throws becomes a process warning, and delivery goes on', async () => {
  const dir = tempDir()
  const jobs = new SqliteQueue(path.join(dir, 'jobs.sqlite'))
  const consumer = worker('export default { async queue(batch) {} }')
  let calls = 0
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  const broker = new QueueBroker(engine, {
    onEvent: () => {
      calls++
      throw new Error('listener broke')
    },
  })
  try {
    broker.consume({ queue: 'jobs', store: jobs, siteId: consumer, deployKey: 'v1', maxBatchTimeoutMs: 0 })
    const producer = worker(`export default { async fetch(req, env) { await env.JOBS.send(1); return new Response('ok') } }`)
    await engine.execute(producer, 'v1', { queues: { JOBS: jobs } }, 'https://example.com/')
    await until(() => warnings.length >= 1, 'a warning')
    await engine.execute(producer, 'v1', { queues: { JOBS: jobs } }, 'https://example.com/')
    await until(() => calls >= 2 && warnings.length >= 2, 'the second delivery')
  } finally {
    process.off('warning', onWarning)
    await broker.close()
  }
  assert.equal(warnings[0].name, 'WorkerRuntimeWarning')
  assert.equal(warnings[0].code, 'WORKER_RUNTIME_QUEUE_LISTENER')
  assert.match(warnings[0].message, /onEvent threw: listener broke/)
})

test('QueueBroker: bad consumer settings throw at once', () => {
  const dir = tempDir()
  const store = new SqliteQueue(path.join(dir, 'q.sqlite'))
  const broker = new QueueBroker(engine)
  test.after(() => broker.close())
  const ok = { queue: 'q', store, siteId: 's', deployKey: 'v1' }
  const cases = [
    [{ ...ok, store: { send() {} } }, TypeError, /store must be a SqliteQueue/],
    [{ ...ok, queue: '' }, TypeError, /queue must be a non-empty string/],
    [{ ...ok, siteId: undefined }, TypeError, /siteId must be a non-empty string/],
    [{ ...ok, maxBatchSize: 101 }, RangeError, /maxBatchSize must be an integer from 1 to 100, got 101/],
    [{ ...ok, maxBatchSize: 0 }, RangeError, /maxBatchSize/],
    [{ ...ok, maxBatchTimeoutMs: 61_000 }, RangeError, /maxBatchTimeoutMs must be an integer from 0 to 60000/],
    [{ ...ok, maxRetries: -1 }, RangeError, /maxRetries/],
    [{ ...ok, retryDelaySeconds: 1.5 }, RangeError, /retryDelaySeconds/],
    [{ ...ok, maxRetries: '3' }, TypeError, /maxRetries must be a number/],
    [{ ...ok, deadLetter: { queue: 'dl' } }, TypeError, /deadLetter\.store must be a SqliteQueue/],
    [{ ...ok, deadLetter: { queue: 'q', store } }, TypeError, /deadLetter\.queue must differ/],
  ]
  for (const [options, Class, message] of cases) {
    assert.throws(() => broker.consume(options), (e) => e instanceof Class && message.test(e.message), JSON.stringify(options))
  }
  assert.throws(() => new QueueBroker({}), /engine must be an Engine/)
  assert.throws(() => new QueueBroker(engine, { onEvent: 'log' }), /onEvent must be a function/)
})

test('QueueBroker: close() stops delivery and leaves the messages in their file; later consumes fail', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'jobs.sqlite')
  const jobs = new SqliteQueue(file)
  const consumer = worker('export default { async queue(batch) {} }')
  const events = []
  const broker = new QueueBroker(engine, { onEvent: (e) => events.push(e) })
  broker.consume({ queue: 'jobs', store: jobs, siteId: consumer, deployKey: 'v1', maxBatchTimeoutMs: 0 })
  await broker.close()
  await broker.close()
  assert.throws(() => broker.consume({ queue: 'jobs', store: jobs, siteId: consumer, deployKey: 'v1' }), InternalError)

  const producer = worker(`export default { async fetch(req, env) { await env.JOBS.send(7); return Response.json(await env.JOBS.metrics()) } }`)
  const res = await engine.execute(producer, 'v1', { queues: { JOBS: jobs } }, 'https://example.com/')
  assert.equal(res.json().backlogCount, 1)
  await tick(100)
  assert.deepEqual(events, [])

  // A new broker on the same file picks the message up.
  const later = new QueueBroker(engine, { onEvent: (e) => events.push(e) })
  test.after(() => later.close())
  later.consume({ queue: 'jobs', store: new SqliteQueue(file), siteId: consumer, deployKey: 'v1', maxBatchTimeoutMs: 0 })
  await until(() => events.length === 1, 'the delivery')
  assert.equal(events[0].type, 'delivered')
})

test('QueueBroker: Engine#close closes the engine\'s brokers', async () => {
  const own = new Engine({ poolSize: 1 })
  const broker = new QueueBroker(own)
  await own.close()
  const store = new SqliteQueue(path.join(tempDir(), 'q.sqlite'))
  assert.throws(() => broker.consume({ queue: 'q', store, siteId: 's', deployKey: 'v1' }), InternalError)
  assert.throws(() => new QueueBroker(own), InternalError)
})

test('QueueBroker: an idle broker does not keep the process alive', () => {
  const dir = tempDir()
  const script = `
const { Engine, QueueBroker, SqliteQueue } = require(${JSON.stringify(PKG)})
const engine = new Engine({ poolSize: 1 }, { sourceLoader: (site) => site === 'producer'
  ? 'export default { async fetch(req, env) { await env.Q.send(1); return new Response("sent") } }'
  : 'export default { async queue(batch) {} }' })
const q = new SqliteQueue(${JSON.stringify(path.join(dir, 'q.sqlite'))})
// Keeps the loop alive until the delivery has been reported; from then on only the broker could.
const alive = setInterval(() => {}, 1000)
const broker = new QueueBroker(engine, { onEvent: (e) => { console.log(e.type); clearInterval(alive) } })
broker.consume({ queue: 'q', store: q, siteId: 'consumer', deployKey: 'v1', maxBatchTimeoutMs: 0 })
engine.execute('producer', 'v1', { queues: { Q: q } }, 'https://example.com/').then((r) => console.log(r.text()))
`
  // Were the broker keeping Node alive, the child would run into the timeout and be killed.
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(r.signal, null, 'the process exited by itself')
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['delivered', 'sent'])
})

// ---------------------------------------------------------------- projects

function project(files) {
  const dir = tempDir()
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text)
  return dir
}

test('openProject: the config\'s queue consumers report deliveries through onQueueEvent', async () => {
  const dir = project({
    'wrangler.jsonc': `{
      // a producer and a consumer of the same queue
      "name": "jobs-app",
      "main": "worker.js",
      "queues": {
        "producers": [{ "binding": "JOBS", "queue": "jobs" }],
        "consumers": [{ "queue": "jobs", "max_batch_timeout": 0, "max_retries": 0, "dead_letter_queue": "jobs-failed" }]
      }
    }`,
    'worker.js': `export default {
      async fetch(req, env) {
        await env.JOBS.send({ task: new URL(req.url).pathname.slice(1) })
        return new Response('queued')
      },
      async queue(batch, env) {
        for (const m of batch.messages) {
          if (m.body.task === 'boom') throw new Error('task failed')
          console.log('did ' + m.body.task)
        }
      },
    }`,
  })
  const events = []
  const p = await engine.openProject(dir, { stateDir: path.join(dir, 'state'), onQueueEvent: (e) => events.push(e) })
  try {
    assert.deepEqual(p.warnings, [])
    assert.equal((await p.fetch('http://localhost/sweep')).text(), 'queued')
    await until(() => events.length >= 1, 'the first delivery')
    assert.equal((await p.fetch('http://localhost/boom')).text(), 'queued')
    await until(() => events.some((e) => e.type === 'deadLettered'), 'the failed task to be dead-lettered')
  } finally {
    await p.close()
  }
  const [ok, failed, deadLettered] = events
  assert.equal(ok.type, 'delivered')
  assert.equal(ok.queue, 'jobs')
  assert.deepEqual(ok.result.logs, [{ level: 'log', message: 'did sweep' }])
  assert.deepEqual(ok.result.outcomes, [{ ack: true, retryDelaySeconds: null }])
  assert.ok(failed.result.error instanceof JSException)
  assert.match(failed.result.error.message, /task failed/)
  assert.deepEqual(deadLettered, { type: 'deadLettered', queue: 'jobs', deadLetterQueue: 'jobs-failed', id: failed.ids[0] })
})

test('openProject: warnings name the settings and bindings libworker ignores', async () => {
  const dir = project({
    'wrangler.jsonc': JSON.stringify({
      name: 'warned',
      main: 'worker.js',
      triggers: { crons: ['*/5 * * * *'] },
      vectorize: [{ binding: 'VECTORS', index_name: 'idx' }],
    }),
    'worker.js': 'export default { fetch() { return new Response("up") } }',
  })
  const p = await engine.openProject(dir, { stateDir: path.join(dir, 'state') })
  try {
    assert.equal((await p.fetch('http://localhost/')).text(), 'up')
    const warnings = p.warnings
    assert.equal(warnings.length, 2, warnings.join('\n'))
    assert.ok(warnings.some((w) => /`triggers` is not supported yet; it is ignored/.test(w)), warnings.join('\n'))
    assert.ok(warnings.some((w) => /`vectorize` \(VECTORS\) is not supported yet/.test(w)), warnings.join('\n'))
    warnings.pop()
    assert.equal(p.warnings.length, 2, 'callers get their own copy')
  } finally {
    await p.close()
  }
  assert.equal(p.warnings.length, 2, 'still readable after close')
})

test('openProject: onQueueEvent must be a function', async () => {
  await assert.rejects(engine.openProject(tempDir(), { onQueueEvent: 42 }), /onQueueEvent must be a function/)
})
