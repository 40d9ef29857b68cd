// Runs binding conformance cases on Miniflare (workerd) and reports mismatches: the wrangler
// config's binding sections (kv_namespaces, r2_buckets, d1_databases, queues, assets) become
// Miniflare options the way `wrangler dev` maps them, every case gets a fresh persistence
// directory, and a request's `miniflareExpect` (a documented Miniflare difference) is checked in
// place of `expect`. DUMP=1 prints every response, MF_LOG=1 Miniflare's own log, and RECORD=1
// fills a missing `expect` from Miniflare's answer (for drafting; review every recorded value).
// Usage: node check-miniflare.mjs <dir> [case...]   (MF_DIR: a package.json beside node_modules/miniflare)
import { createRequire } from "node:module";
import os from "node:os";
import fs from "node:fs";
import path from "node:path";
import http from "node:http";
const require = createRequire(process.env.MF_DIR || "/tmp/mf/package.json");
const { Miniflare, Log, LogLevel } = require("miniflare");
const DUMP = !!process.env.DUMP;
// RECORD=1: requests without an `expect` get one filled from Miniflare's answer (status + json or
// body), and requests.json is rewritten. Used only to draft cases; every recorded value is reviewed.
const RECORD = !!process.env.RECORD;

// wrangler's parseStaticRouting (workers-sdk packages/workers-shared/utils/configuration):
// run_worker_first: ["/api/*", "!/api/docs/*"] -> { user_worker: ["/api/*"], asset_worker: ["/api/docs/*"] }
function parseStaticRouting(input) {
  if (input.length === 0) throw new Error("No `run_worker_first` rules were provided; must provide at least 1 rule.");
  const asset_worker = [], user_worker = [];
  for (const rule of input) {
    if (rule.startsWith("!/")) asset_worker.push(rule.slice(1));
    else if (rule.startsWith("/")) user_worker.push(rule);
    else throw new Error(`invalid run_worker_first rule ${rule}`);
  }
  if (asset_worker.length && !user_worker.length) throw new Error("Only negative `run_worker_first` rules were provided; must provide at least 1 non-negative rule");
  return { asset_worker, user_worker };
}

// wrangler.jsonc binding sections -> Miniflare options.
function bindingOptions(cfg, dir) {
  const o = {};
  if (cfg.kv_namespaces) o.kvNamespaces = Object.fromEntries(cfg.kv_namespaces.map((b) => [b.binding, b.id || b.binding]));
  if (cfg.r2_buckets) o.r2Buckets = Object.fromEntries(cfg.r2_buckets.map((b) => [b.binding, b.bucket_name || b.binding]));
  if (cfg.d1_databases) o.d1Databases = Object.fromEntries(cfg.d1_databases.map((b) => [b.binding, b.database_id || b.database_name || b.binding]));
  if (cfg.queues?.producers) {
    o.queueProducers = Object.fromEntries(cfg.queues.producers.map((p) => {
      const v = { queueName: p.queue };
      if (p.delivery_delay !== undefined) v.deliveryDelay = p.delivery_delay;
      return [p.binding, v];
    }));
  }
  if (cfg.queues?.consumers) {
    o.queueConsumers = Object.fromEntries(cfg.queues.consumers.map((c) => {
      const v = {};
      if (c.max_batch_size !== undefined) v.maxBatchSize = c.max_batch_size;
      if (c.max_batch_timeout !== undefined) v.maxBatchTimeout = c.max_batch_timeout; // seconds in both
      if (c.max_retries !== undefined) v.maxRetries = c.max_retries;
      if (c.dead_letter_queue !== undefined) v.deadLetterQueue = c.dead_letter_queue;
      if (c.retry_delay !== undefined) v.retryDelay = c.retry_delay;
      return [c.queue, v];
    }));
  }
  if (cfg.assets) {
    const a = cfg.assets;
    const routerConfig = { has_user_worker: Boolean(cfg.main) };
    let staticRouting;
    if (typeof a.run_worker_first === "boolean") routerConfig.invoke_user_worker_ahead_of_assets = a.run_worker_first;
    else if (Array.isArray(a.run_worker_first)) routerConfig.static_routing = staticRouting = parseStaticRouting(a.run_worker_first);
    const assetConfig = {};
    if (a.html_handling !== undefined) assetConfig.html_handling = a.html_handling;
    if (a.not_found_handling !== undefined) assetConfig.not_found_handling = a.not_found_handling;
    if (staticRouting) assetConfig.has_static_routing = true;
    o.assets = { directory: path.resolve(dir, a.directory), routerConfig, assetConfig };
    if (a.binding) o.assets.binding = a.binding;
  }
  return o;
}

const root = process.argv[2];
const only = process.argv.slice(3);

function stripJsonc(src) {
  let out = "", i = 0, pendingComma = -1;
  while (i < src.length) {
    const c = src[i];
    if (c === '"') { pendingComma = -1; let j = i + 1; while (j < src.length) { if (src[j] === "\\") j += 2; else if (src[j] === '"') { j++; break; } else j++; } out += src.slice(i, j); i = j; }
    else if (c === "/" && src[i + 1] === "/") { while (i < src.length && src[i] !== "\n") i++; }
    else if (c === "/" && src[i + 1] === "*") { i += 2; while (i < src.length && !(src[i] === "*" && src[i + 1] === "/")) i++; i += 2; }
    else if (c === ",") { pendingComma = out.length; out += c; i++; }
    else if (c === "]" || c === "}") { if (pendingComma >= 0) out = out.slice(0, pendingComma) + " " + out.slice(pendingComma + 1); pendingComma = -1; out += c; i++; }
    else if (/\s/.test(c)) { out += c; i++; }
    else { pendingComma = -1; out += c; i++; }
  }
  return out;
}

function send(port, r) {
  return new Promise((resolve, reject) => {
    const headers = [];
    let hasHost = false;
    for (const [k, v] of r.headers || []) { headers.push(k, v); if (k.toLowerCase() === "host") hasHost = true; }
    if (!hasHost) headers.push("host", `127.0.0.1:${port}`);
    const body = r.body !== undefined ? Buffer.from(r.body) : null;
    if (body) headers.push("content-length", String(body.length));
    const req = http.request({ host: "127.0.0.1", port, method: r.method || "GET", path: r.path || "/", headers, setHost: false, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode, reason: res.statusMessage, raw: res.rawHeaders, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

function deepEqual(a, b) { return JSON.stringify(a) === JSON.stringify(b) || (typeof a === "object" && a && b && JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))); }
function sortKeys(v) { if (Array.isArray(v)) return v.map(sortKeys); if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])); return v; }

function check(expect, res) {
  const p = [];
  if (expect.status !== undefined && expect.status !== res.status) p.push(`status ${res.status} != ${expect.status}`);
  if (expect.statusText !== undefined && expect.statusText !== res.reason) p.push(`statusText ${JSON.stringify(res.reason)} != ${JSON.stringify(expect.statusText)}`);
  for (const [name, want] of Object.entries(expect.headers || {})) {
    const got = [];
    for (let i = 0; i < res.raw.length; i += 2) if (res.raw[i].toLowerCase() === name.toLowerCase()) got.push(res.raw[i + 1]);
    if (want === null) { if (got.length) p.push(`header ${name} present: ${JSON.stringify(got)}`); }
    else if (Array.isArray(want)) { if (JSON.stringify(got) !== JSON.stringify(want)) p.push(`header ${name} ${JSON.stringify(got)} != ${JSON.stringify(want)}`); }
    else if (got.join(", ") !== want || !got.length) p.push(`header ${name} ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
  }
  if (expect.body !== undefined && expect.body !== res.body) p.push(`body ${JSON.stringify(res.body).slice(0, 400)} != ${JSON.stringify(expect.body)}`);
  if (expect.bodyContains !== undefined) for (const n of [].concat(expect.bodyContains)) if (!res.body.includes(n)) p.push(`body lacks ${n}`);
  if (expect.json !== undefined) {
    let got; try { got = JSON.parse(res.body); } catch { p.push(`not json: ${res.body.slice(0, 300)}`); }
    if (got !== undefined && !deepEqual(got, expect.json)) p.push(`json\n      got ${JSON.stringify(got)}\n      exp ${JSON.stringify(expect.json)}`);
  }
  return p;
}

// One request per line-ish: keeps requests.json readable after RECORD.
function formatRequests(reqs) {
  return "[\n" + reqs.map((r) => {
    const { expect, ...rest } = r;
    const head = JSON.stringify(rest).slice(0, -1);
    return `  ${head},\n    "expect": ${JSON.stringify(expect)}\n  }`;
  }).join(",\n") + "\n]\n";
}

let fails = 0;
const knownDiffs = [];
for (const name of fs.readdirSync(root).sort()) {
  if (only.length && !only.includes(name)) continue;
  const dir = path.join(root, name);
  if (!fs.existsSync(path.join(dir, "requests.json"))) continue;
  let cfg = {};
  for (const f of ["wrangler.jsonc", "wrangler.json"]) if (fs.existsSync(path.join(dir, f))) cfg = JSON.parse(stripJsonc(fs.readFileSync(path.join(dir, f), "utf8")));
  const main = path.join(dir, cfg.main || "worker.js");
  const code = fs.readFileSync(main, "utf8");
  const modules = /^\s*(export|import)[\s{]/m.test(code);
  const opts = {
    scriptPath: main, modules, port: 0, host: "127.0.0.1",
    compatibilityDate: cfg.compatibility_date || "2025-01-01",
    compatibilityFlags: cfg.compatibility_flags || [],
    bindings: cfg.vars || {},
    ...bindingOptions(cfg, dir),
  };
  if (cfg.name) opts.name = cfg.name;
  // Fresh, empty state per case: every storage plugin persists under its own temp directory.
  const persistRoot = fs.mkdtempSync(path.join(os.tmpdir(), `mf-${name}-`));
  opts.defaultPersistRoot = persistRoot;
  if (process.env.MF_LOG) opts.log = new Log(LogLevel.DEBUG);
  if (modules) {
    opts.modulesRoot = dir;
    opts.modulesRules = [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "Text", include: ["**/*.txt", "**/*.html", "**/*.json"] },
      { type: "Data", include: ["**/*.bin"] },
    ];
  }
  const mf = new Miniflare(opts);
  let url;
  try { url = await mf.ready; } catch (e) { console.log(`${name}: START FAILED ${e}`); fails++; continue; }
  const port = Number(url.port);
  const reqs = JSON.parse(fs.readFileSync(path.join(dir, "requests.json"), "utf8"));
  const problems = [];
  let recorded = false;
  for (const r of reqs) {
    if (r.delayMs) await new Promise((s) => setTimeout(s, r.delayMs));
    try {
      const res = await send(port, r);
      if (DUMP) console.log(`  [${name}] ${r.name}: ${res.status} ${res.body.slice(0, 2000)}`);
      if (RECORD && !r.expect) {
        let j; try { j = JSON.parse(res.body); } catch {}
        r.expect = j !== undefined ? { status: res.status, json: j } : { status: res.status, body: res.body };
        recorded = true;
      }
      // `miniflareExpect`: the request documents production behaviour in `expect`, and Miniflare's
      // local simulator is known to answer differently; check Miniflare's actual answer instead
      // and report the request as a known difference (see NOTES-r2-d1-queues.md).
      const p = check(r.miniflareExpect || r.expect || {}, res);
      if (r.miniflareExpect) {
        knownDiffs.push(`${name}/${r.name}`);
        // The difference must be real: Miniflare's answer must not also satisfy `expect`.
        if (!check(r.expect || {}, res).length) p.push("miniflareExpect is stale: Miniflare now also matches expect");
      }
      if (p.length) problems.push(`  ${r.name}:\n    ${p.join("\n    ")}`);
    } catch (e) { problems.push(`  ${r.name}: ${e}`); }
  }
  await mf.dispose();
  if (recorded) fs.writeFileSync(path.join(dir, "requests.json"), formatRequests(reqs));
  fs.rmSync(persistRoot, { recursive: true, force: true });
  if (problems.length) { fails++; console.log(`FAIL ${name}\n${problems.join("\n")}`); } else console.log(`ok   ${name}`);
}
if (knownDiffs.length) console.log(`known Miniflare differences (checked against miniflareExpect): ${knownDiffs.join(", ")}`);
process.exit(fails ? 1 : 0);
