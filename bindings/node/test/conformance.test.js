'use strict'
// The conformance corpus (tests/conformance/, see its README.md) through Engine#openProject,
// with every KV namespace a case declares replaced by a JS store (test/helpers.js MapKv).
// WK_CONFORMANCE=a,b runs only those cases.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { STATUS_CODES } = require('node:http')
const { Engine, readConfig } = require('..')
const { MapKv, tick } = require('./helpers.js')

const CORPUS = path.join(__dirname, '..', '..', '..', 'tests', 'conformance')
const CONFIGS = ['wrangler.jsonc', 'wrangler.json', 'wrangler.toml']

function cases() {
  const only = (process.env.WK_CONFORMANCE ?? '').split(',').filter(Boolean)
  return fs
    .readdirSync(CORPUS)
    .filter((name) => fs.existsSync(path.join(CORPUS, name, 'requests.json')))
    .filter((name) => only.length === 0 || only.includes(name))
    .sort()
}

function entryPoint(dir) {
  const config = CONFIGS.map((c) => path.join(dir, c)).find((p) => fs.existsSync(p))
  return config ?? path.join(dir, 'worker.js')
}

function headerValues(res, name) {
  const n = name.toLowerCase()
  return res.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v)
}

/** Every way `res` differs from `expect`, as readable lines. */
function mismatches(res, expect) {
  const out = []
  if (expect.status !== undefined && res.status !== expect.status) out.push(`status ${res.status}, want ${expect.status}`)
  // An HTTP client reads an empty status text as the code's standard reason phrase.
  const statusText = res.statusText || STATUS_CODES[res.status] || ''
  if (expect.statusText !== undefined && statusText !== expect.statusText) {
    out.push(`statusText ${JSON.stringify(statusText)}, want ${JSON.stringify(expect.statusText)}`)
  }
  for (const [name, want] of Object.entries(expect.headers ?? {})) {
    const values = headerValues(res, name)
    if (want === null) {
      if (values.length) out.push(`header ${name} present (${JSON.stringify(values)}), want absent`)
    } else if (Array.isArray(want)) {
      if (JSON.stringify(values) !== JSON.stringify(want)) out.push(`header ${name} ${JSON.stringify(values)}, want ${JSON.stringify(want)}`)
    } else if (!values.length || values.join(', ') !== want) {
      out.push(`header ${name} ${JSON.stringify(values.join(', '))}, want ${JSON.stringify(want)}`)
    }
  }
  const text = res.body.toString('utf8')
  if (expect.body !== undefined && text !== expect.body) out.push(`body ${JSON.stringify(text)}, want ${JSON.stringify(expect.body)}`)
  const contains = expect.bodyContains === undefined ? [] : [expect.bodyContains].flat()
  for (const part of contains) if (!text.includes(part)) out.push(`body lacks ${JSON.stringify(part)}: ${JSON.stringify(text.slice(0, 300))}`)
  if (expect.json !== undefined) {
    try {
      assert.deepStrictEqual(JSON.parse(text), expect.json)
    } catch (e) {
      out.push(e instanceof SyntaxError ? `body is not JSON: ${JSON.stringify(text.slice(0, 300))}` : `json differs:\n${e.message}`)
    }
  }
  return out
}

/** The response a request gets; a worker failure is answered with a 500 as `wk serve` does. */
async function send(project, r) {
  const headers = r.headers ?? []
  const host = headers.find(([k]) => k.toLowerCase() === 'host')?.[1]
  const request = {
    method: r.method ?? 'GET',
    url: `http://${host ?? '127.0.0.1:8787'}${r.path}`,
    headers: host ? headers : [['host', '127.0.0.1:8787'], ...headers],
    body: r.body,
  }
  try {
    return await project.fetch(request)
  } catch (e) {
    return { status: 500, statusText: 'Internal Server Error', headers: [], body: Buffer.from(''), error: e }
  }
}

const engine = new Engine({ poolSize: 2 })
const failures = []

test.after(async () => {
  await engine.close()
  if (failures.length) console.log(`\nconformance mismatches:\n${failures.join('\n')}`)
})

for (const name of cases()) {
  test(name, async () => {
    const dir = path.join(CORPUS, name)
    const entry = entryPoint(dir)
    const kv = {}
    if (!entry.endsWith('worker.js')) {
      for (const ns of readConfig(entry).kv_namespaces ?? []) kv[ns.binding] = new MapKv()
    }
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `wk-node-${name}-`))
    const project = await engine.openProject(entry, { stateDir, env: { kv } })
    const problems = []
    try {
      const requests = JSON.parse(fs.readFileSync(path.join(dir, 'requests.json'), 'utf8'))
      for (const r of requests) {
        if (r.delayMs) await tick(r.delayMs)
        const res = await send(project, r)
        for (const m of mismatches(res, r.expect ?? {})) {
          problems.push(`${name} / ${r.name}: ${m}${res.error ? ` (worker error: ${res.error.message})` : ''}`)
        }
      }
    } finally {
      await project.close()
      fs.rmSync(stateDir, { recursive: true, force: true })
    }
    failures.push(...problems)
    assert.deepEqual(problems, [])
    if (Object.keys(kv).length) {
      // The JS store really served the namespace.
      assert.ok(Object.values(kv).some((s) => s.calls.length > 0), 'the JS KV store was never called')
    }
  })
}
