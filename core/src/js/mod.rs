// Placeholder bootstrap until the Web API scripts land; replaced by the full list.
pub const BOOTSTRAP: &[(&str, &str)] = &[("wk:internal/mini.js", MINI)];

const MINI: &str = r#"(function (ops, internals) {
  "use strict";
  let mod = null;
  const timers = new Map();
  globalThis.setTimeout = (cb, ms, ...a) => { const id = ops.op_timer_start(ms); timers.set(id, () => cb(...a)); return id; };
  globalThis.console = { log: (...a) => ops.op_log("log", a.join(" ")), error: (...a) => ops.op_log("error", a.join(" ")) };
  class Response { constructor(body, init = {}) { this.body = body == null ? "" : String(body); this.status = init.status ?? 200; this.headers = init.headers ?? {}; } }
  globalThis.Response = Response;
  internals.setModule = (ns) => { mod = ns; };
  internals.fireTimer = (id) => { const f = timers.get(id); timers.delete(id); f && f(); };
  internals.reportRejections = (r) => { for (const x of r) ops.op_log("error", "Uncaught (in promise) " + (x && x.stack || String(x))); };
  internals.dispatchFetch = (id, method, url, headers, body, env) => {
    const e = {}; for (let i = 0; i < env.length; i += 3) e[env[i]] = env[i+1] === "json" ? JSON.parse(env[i+2]) : env[i+2];
    const req = { method, url, headers, body };
    Promise.resolve().then(() => mod.default.fetch(req, e, {})).then((r) => {
      const h = []; for (const k in r.headers) h.push(k, r.headers[k]);
      ops.op_respond(id, r.status, "", h, ops.op_utf8_encode(r.body));
    }, (err) => ops.op_fail(id, err.name, err.message, err.stack, false)).finally(() => ops.op_done(id));
  };
  internals.callFunction = (id, name, args, env) => {
    Promise.resolve().then(() => (mod[name] ?? mod.default[name].bind(mod.default))({}, ...JSON.parse(args)))
      .then((r) => ops.op_function_result(id, JSON.stringify(r) ?? "null"), (err) => ops.op_fail(id, err.name, err.message, err.stack, false)).finally(() => ops.op_done(id));
  };
})
"#;
