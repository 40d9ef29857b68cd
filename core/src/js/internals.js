(function (ops, internals) {
  "use strict";

  // Entry points the engine calls for each invocation. Every one of them reports its outcome
  // through ops (op_respond / op_fail / op_function_result, then op_done) and never throws.

  const { defineGlobal, illegalConstructor, DOMException } = internals;

  let moduleNamespace = null;
  internals.setModule = (ns) => {
    moduleNamespace = ns;
  };

  // Binding kinds other API modules can extend: kind -> (value) => binding object.
  internals.envKinds = {
    text: (value) => value,
    json: (value) => JSON.parse(value),
  };

  // Host calls (binding operations): the op starts the host's work under a call id, and the
  // engine calls settleCall(id, ok, value) once it completes. A synchronous throw from the op
  // (a limit reached) rejects the same way.
  const pendingCalls = new Map();
  let nextCall = 1;
  internals.hostCall = (op, ...args) => {
    const id = nextCall++;
    return new Promise((resolve, reject) => {
      pendingCalls.set(id, { resolve, reject });
      try {
        op(id, ...args);
      } catch (err) {
        pendingCalls.delete(id);
        reject(err);
      }
    });
  };
  internals.settleCall = (id, ok, value) => {
    const call = pendingCalls.get(id);
    if (call === undefined) return;
    pendingCalls.delete(id);
    if (ok) call.resolve(value);
    else call.reject(new Error(value));
  };

  function buildEnv(envSpec) {
    const env = {};
    for (let i = 0; i + 2 < envSpec.length; i += 3) {
      const [name, kind, value] = [envSpec[i], envSpec[i + 1], envSpec[i + 2]];
      const make = internals.envKinds[kind];
      if (typeof make !== "function") throw new Error(`Unsupported binding kind "${kind}" for binding "${name}".`);
      env[name] = make(value);
    }
    return env;
  }

  const illegalThis = () => new TypeError("Illegal invocation: function called with incorrect this reference");

  class ExecutionContext {
    #lifetime;
    #onPassThrough;
    #props;
    constructor(key, lifetime, onPassThrough) {
      if (key !== illegalConstructor) throw new TypeError("Illegal constructor");
      this.#lifetime = lifetime;
      this.#onPassThrough = onPassThrough;
      this.#props = {};
    }
    waitUntil(promise) {
      if (this === null || typeof this !== "object" || !(#lifetime in this)) throw illegalThis();
      this.#lifetime.push(Promise.resolve(promise));
    }
    passThroughOnException() {
      if (this === null || typeof this !== "object" || !(#lifetime in this)) throw illegalThis();
      this.#onPassThrough();
    }
    get props() {
      if (this === null || typeof this !== "object" || !(#lifetime in this)) throw illegalThis();
      return this.#props;
    }
  }
  internals.setToStringTag(ExecutionContext, "ExecutionContext");
  defineGlobal("ExecutionContext", ExecutionContext);

  let fetchEventState;

  class FetchEvent extends internals.ExtendableEvent {
    #request;
    #response = null;
    #respondWithCalled = false;
    #dispatching = false;
    #onPassThrough;

    constructor(type, init = undefined) {
      if (init?.[illegalConstructor] !== true) throw new TypeError("Illegal constructor");
      super(type);
      this.#request = init.request;
      this.#onPassThrough = init.onPassThrough;
    }

    static {
      fetchEventState = {
        setDispatching(e, value) { e.#dispatching = value; },
        response: (e) => (e.#respondWithCalled ? e.#response : null),
      };
    }

    get request() {
      if (!(#request in this)) throw illegalThis();
      return this.#request;
    }
    respondWith(response) {
      if (!(#request in this)) throw illegalThis();
      if (this.#respondWithCalled) {
        throw new DOMException("FetchEvent.respondWith() has already been called; it can only be called once.", "InvalidStateError");
      }
      if (!this.#dispatching) {
        throw new DOMException("Too late to call FetchEvent.respondWith(). It must be called synchronously in the event handler.", "InvalidStateError");
      }
      this.#respondWithCalled = true;
      this.#response = Promise.resolve(response);
      this.stopImmediatePropagation();
    }
    passThroughOnException() {
      if (!(#request in this)) throw illegalThis();
      this.#onPassThrough();
    }
  }
  internals.setToStringTag(FetchEvent, "FetchEvent");
  defineGlobal("FetchEvent", FetchEvent);

  function errorFields(err) {
    if (err !== null && typeof err === "object") {
      let name, message, stack;
      try { name = err.name; } catch { name = undefined; }
      try { message = err.message; } catch { message = undefined; }
      try { stack = err.stack; } catch { stack = undefined; }
      return [
        typeof name === "string" ? name : "Error",
        message === undefined ? String(internals.describeError(err)) : String(message),
        typeof stack === "string" ? stack : "",
      ];
    }
    return ["Error", String(typeof err === "symbol" ? err.toString() : err), ""];
  }

  function fail(reqId, err, passThrough) {
    const [name, message, stack] = errorFields(err);
    ops.op_fail(reqId, name, message, stack, passThrough);
  }

  // waitUntil() may be called again while earlier promises are pending, so keep draining.
  async function drain(lifetime) {
    let seen = 0;
    while (seen < lifetime.length) {
      const batch = lifetime.slice(seen);
      seen = lifetime.length;
      const results = await Promise.allSettled(batch);
      for (const r of results) {
        if (r.status === "rejected") internals.logUncaught("Uncaught (in promise) ", r.reason);
      }
    }
  }

  async function runFetch(method, url, headersFlat, body, envSpec, lifetime, setPassThrough) {
    const request = internals.newIncomingRequest(method, url, headersFlat, body);
    const env = buildEnv(envSpec);
    if (moduleNamespace !== null) {
      const handler = moduleNamespace.default;
      const ctx = new ExecutionContext(illegalConstructor, lifetime, setPassThrough);
      if (typeof handler === "function" && typeof handler.prototype?.fetch === "function") {
        const instance = new handler(ctx, env);
        return instance.fetch(request);
      }
      if (handler === null || typeof handler !== "object" || typeof handler.fetch !== "function") {
        throw new Error("Handler does not export a fetch() function.");
      }
      return handler.fetch(request, env, ctx);
    }

    for (const name of Object.keys(env)) defineGlobal(name, env[name]);
    if (!internals.hasListeners(globalThis, "fetch")) {
      throw new Error("No event handlers were registered. This script does nothing.");
    }
    const event = new FetchEvent("fetch", { [illegalConstructor]: true, request, onPassThrough: setPassThrough });
    const eventLifetime = internals.extendableLifetime(event);
    let listenerError = null;
    fetchEventState.setDispatching(event, true);
    try {
      internals.dispatchEventUnchecked(globalThis, event, (err) => {
        if (listenerError === null) listenerError = { err };
      });
    } finally {
      fetchEventState.setDispatching(event, false);
      // Promises registered on the event share the invocation's lifetime.
      lifetime.push(Promise.resolve().then(() => drain(eventLifetime)));
    }
    if (listenerError !== null) throw listenerError.err;
    const response = fetchEventState.response(event);
    if (response === null) {
      // Nobody responded: on Cloudflare the request falls through to the origin.
      setPassThrough();
      throw new Error("No fetch event listener called event.respondWith().");
    }
    return response;
  }

  internals.dispatchFetch = (reqId, method, url, headersFlat, body, envSpec) => {
    const lifetime = [];
    let passThrough = false;
    const setPassThrough = () => {
      passThrough = true;
    };
    (async () => {
      try {
        const response = await runFetch(method, url, headersFlat, body, envSpec, lifetime, setPassThrough);
        if (!internals.isResponse(response)) {
          throw new TypeError("Incorrect type for Promise: the Promise did not resolve to 'Response'.");
        }
        if (response.type === "error") {
          // Response.error() (status 0) has nothing a client could be sent.
          throw new TypeError("Return value from serve handler must not be an error response (like Response.error()).");
        }
        const out = await internals.serializeResponse(response);
        ops.op_respond(reqId, out.status, out.statusText, out.headersFlat, out.body);
      } catch (err) {
        fail(reqId, err, passThrough);
      }
      try {
        await drain(lifetime);
      } finally {
        ops.op_done(reqId);
      }
    })();
  };

  internals.callFunction = (reqId, name, argsJson, envSpec) => {
    (async () => {
      try {
        const env = buildEnv(envSpec);
        const args = JSON.parse(argsJson);
        if (!Array.isArray(args)) throw new TypeError("The function arguments must be a JSON array.");
        const scope = moduleNamespace ?? globalThis;
        const fallback = moduleNamespace?.default;
        let result;
        if (typeof scope[name] === "function") {
          result = await scope[name](env, ...args);
        } else if (fallback !== null && typeof fallback === "object" && typeof fallback[name] === "function") {
          result = await fallback[name](env, ...args);
        } else {
          throw new TypeError(`Export "${name}" is not a function.`);
        }
        const json = JSON.stringify(result);
        ops.op_function_result(reqId, json === undefined ? "null" : json);
      } catch (err) {
        fail(reqId, err, false);
      }
      ops.op_done(reqId);
    })();
  };

  // What other handlers' dispatchers (queue.js) share with fetch: env, ctx, the running module
  // and error reporting.
  internals.buildEnv = buildEnv;
  internals.errorFields = errorFields;
  internals.newExecutionContext = (lifetime) => new ExecutionContext(illegalConstructor, lifetime, () => {});
  internals.moduleNamespace = () => moduleNamespace;

  internals.reportRejections = (reasons) => {
    for (const reason of reasons) {
      const event = new internals.PromiseRejectionEvent("unhandledrejection", { cancelable: true, reason });
      internals.dispatchEventUnchecked(globalThis, event);
      if (!event.defaultPrevented) internals.logUncaught("Uncaught (in promise) ", reason);
    }
  };
})
