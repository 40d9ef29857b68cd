// Runs binding conformance cases (KV, Cache API, static Assets) on Miniflare (workerd) and
// reports mismatches. Copy of /tmp/mf/check.mjs extended with: wrangler.jsonc binding sections
// mapped to Miniflare options the way `wrangler dev` maps them, a fresh persistence directory
// per case, and DUMP=1 to print every response.
// Usage: node check-bindings-a.mjs <dir> [case...]
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import http from "node:http";
const require = createRequire("/tmp/mf/package.json");
const { Miniflare } = require("miniflare");

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

// wrangler.jsonc binding sections -> Miniflare worker options.
function bindingOptions(cfg, dir, persistRoot) {
  const o = {
    // Every storage plugin persists under a fresh per-case directory.
    defaultPersistRoot: persistRoot,
    kvPersist: path.join(persistRoot, "kv"),
    cachePersist: path.join(persistRoot, "cache"),
  };
  if (cfg.kv_namespaces) {
    o.kvNamespaces = Object.fromEntries(cfg.kv_namespaces.map((k) => [k.binding, { id: k.id ?? k.binding }]));
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

let fails = 0;
for (const name of fs.readdirSync(root).sort()) {
  // Without case names, run only this helper's areas (the directory is shared with other helpers).
  if (only.length ? !only.includes(name) : !/^(kv|cache|assets)_/.test(name)) continue;
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
  };
  const persistRoot = fs.mkdtempSync(path.join(os.tmpdir(), `mf-${name}-`));
  Object.assign(opts, bindingOptions(cfg, dir, persistRoot));
  if (process.env.DUMP) console.log(name, JSON.stringify({ ...opts, scriptPath: undefined }));
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
  try { url = await mf.ready; } catch (e) { console.log(`${name}: START FAILED ${e}`); fails++; fs.rmSync(persistRoot, { recursive: true, force: true }); continue; }
  const port = Number(url.port);
  const reqs = JSON.parse(fs.readFileSync(path.join(dir, "requests.json"), "utf8"));
  const problems = [];
  for (const r of reqs) {
    if (r.delayMs) await new Promise((s) => setTimeout(s, r.delayMs));
    try {
      const res = await send(port, r);
      if (process.env.DUMP) console.log(`--- ${name}/${r.name}: ${res.status} ${JSON.stringify(res.raw)}\n${res.body.slice(0, 20000)}`);
      const p = check(r.expect, res);
      if (p.length) problems.push(`  ${r.name}:\n    ${p.join("\n    ")}`);
    } catch (e) { problems.push(`  ${r.name}: ${e}`); }
  }
  await mf.dispose();
  fs.rmSync(persistRoot, { recursive: true, force: true });
  if (problems.length) { fails++; console.log(`FAIL ${name}\n${problems.join("\n")}`); } else console.log(`ok   ${name}`);
}
process.exit(fails ? 1 : 0);
