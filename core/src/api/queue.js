(function (ops, internals) {
  "use strict";

  // Queues. The producer (`env.QUEUE`, a WorkerQueue) encodes bodies, applies Cloudflare's
  // limits with its error texts and hands bytes to the host's QueueSender. The consumer side is
  // internals.dispatchQueue, which the engine calls with a batch: it runs the worker's queue()
  // handler (or its "queue" event listeners) and reports what happens to each message.

  const MAX_MESSAGE_BYTES = 128000;
  const MAX_BATCH_MESSAGES = 100;
  const MAX_BATCH_BYTES = 256000;
  const MAX_DELAY_SECONDS = 43200;
  const CONTENT_TYPES = ["json", "text", "bytes", "v8"];

  const { hostCall, utf8Encode, utf8Decode, illegalConstructor, DOMException } = internals;

  // The backend's refusals, as workerd wraps them.
  const failed = (method, text) => new Error(`Queue ${method} failed: ${text}`);

  function contentTypeOf(value) {
    if (value === undefined || value === null) return "json";
    const lower = String(value).toLowerCase();
    if (!CONTENT_TYPES.includes(lower)) {
      throw new TypeError(`Unsupported queue message content type: ${value}`);
    }
    return lower;
  }

  // `delaySeconds` converts like a WebIDL unsigned long; the queue refuses more than 12 hours.
  function delayOf(value, method) {
    if (value === undefined || value === null) return null;
    let n = Math.trunc(Number(value));
    if (!Number.isFinite(n)) n = 0;
    if (n < 0 || n > MAX_DELAY_SECONDS) {
      throw failed(method, `message delay ${n} is invalid: delaySeconds must be between 0 and ${MAX_DELAY_SECONDS}`);
    }
    return n;
  }

  function encodeBody(body, contentType) {
    if (body === undefined) throw new TypeError("Message body cannot be undefined");
    switch (contentType) {
      case "text":
        if (typeof body !== "string") {
          throw new TypeError(`Content Type "text" requires a value of type string, but received: ${typeof body}`);
        }
        return utf8Encode(body);
      case "bytes":
        if (!ArrayBuffer.isView(body)) {
          throw new TypeError(`Content Type "bytes" requires a value of type ArrayBufferView, but received: ${typeof body}`);
        }
        return internals.copyBytes(body);
      case "json": {
        const json = JSON.stringify(body);
        if (json === undefined) throw new TypeError(`Content Type "json" cannot serialize a value of type ${typeof body}`);
        return utf8Encode(json);
      }
      default:
        try {
          return ops.op_queue_serialize(body);
        } catch (err) {
          if (err !== null && typeof err === "object" && err.name === "DataCloneError") {
            throw new DOMException(err.message, "DataCloneError");
          }
          throw err;
        }
    }
  }

  function metricsOf(flat) {
    const metrics = { backlogCount: flat[0], backlogBytes: flat[1] };
    if (flat[2] !== null) metrics.oldestMessageTimestamp = new Date(flat[2]);
    return metrics;
  }

  class WorkerQueue {
    #binding;

    constructor(token, binding) {
      if (token !== illegalConstructor) throw new TypeError("Illegal constructor");
      this.#binding = binding;
    }

    async send(body, options) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      if (arguments.length === 0) {
        throw new TypeError("Failed to execute 'send' on 'WorkerQueue': parameter 1 is not of type 'JsValue'.");
      }
      if (body === undefined) throw new TypeError("Message body cannot be undefined");
      options = options ?? {};
      const ct = contentTypeOf(options.contentType);
      const bytes = encodeBody(body, ct);
      const delay = delayOf(options.delaySeconds, "send");
      if (bytes.byteLength > MAX_MESSAGE_BYTES) {
        throw failed("send", `message length of ${bytes.byteLength} bytes exceeds limit of ${MAX_MESSAGE_BYTES}`);
      }
      const metrics = await hostCall(ops.op_queue_send, this.#binding, "send", [ct, bytes, delay]);
      return { metadata: { metrics: metricsOf(metrics) } };
    }

    async sendBatch(messages, options) {
      if (!(#binding in this)) throw internals.illegalInvocation();
      if (messages === undefined || messages === null || typeof messages[Symbol.iterator] !== "function") {
        throw new TypeError("Failed to execute 'sendBatch' on 'WorkerQueue': parameter 1 is not of type 'Iterable'.");
      }
      const list = Array.from(messages);
      if (list.length === 0) throw new TypeError("sendBatch() requires at least one message");
      options = options ?? {};
      const batchDelay = delayOf(options.delaySeconds, "sendBatch");
      const flat = [];
      let largest = 0;
      let total = 0;
      for (const m of list) {
        if (m === null || typeof m !== "object") throw new TypeError("Message body cannot be undefined");
        if (m.body === undefined) throw new TypeError("Message body cannot be undefined");
        const ct = contentTypeOf(m.contentType);
        const bytes = encodeBody(m.body, ct);
        const delay = m.delaySeconds === undefined ? batchDelay : delayOf(m.delaySeconds, "sendBatch");
        largest = Math.max(largest, bytes.byteLength);
        total += bytes.byteLength;
        flat.push(ct, bytes, delay);
      }
      if (list.length > MAX_BATCH_MESSAGES) {
        throw failed("sendBatch", `batch message count of ${list.length} exceeds limit of ${MAX_BATCH_MESSAGES}`);
      }
      if (largest > MAX_MESSAGE_BYTES) {
        throw failed("sendBatch", `message in batch has length ${largest} bytes which exceeds single message size limit of ${MAX_MESSAGE_BYTES}`);
      }
      if (total > MAX_BATCH_BYTES) {
        throw failed("sendBatch", `batch size of ${total} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
      }
      const metrics = await hostCall(ops.op_queue_send, this.#binding, "sendBatch", flat);
      return { metadata: { metrics: metricsOf(metrics) } };
    }

    async metrics() {
      if (!(#binding in this)) throw internals.illegalInvocation();
      return metricsOf(await hostCall(ops.op_queue_metrics, this.#binding));
    }
  }
  internals.setToStringTag(WorkerQueue, "WorkerQueue");

  internals.envKinds.queue = (index) => new WorkerQueue(illegalConstructor, Number(index));

  // ---- Consumer ----

  // A retry delay as the consumer gives it; out-of-range values are clamped to what the queue
  // accepts rather than failing the batch after the fact.
  function retryDelayOf(options) {
    const v = options?.delaySeconds;
    if (v === undefined || v === null) return null;
    const n = Math.trunc(Number(v));
    if (!Number.isFinite(n)) return null;
    return Math.min(Math.max(n, 0), MAX_DELAY_SECONDS);
  }

  const warn = (text) => ops.op_log("warn", text);

  // What the handler decided per message. The first decision on a message wins; later
  // conflicting calls log a warning and change nothing, as on Cloudflare.
  class Decisions {
    constructor(ids) {
      this.ids = ids;
      this.kinds = ids.map(() => null);
      this.delays = ids.map(() => null);
      this.by = ids.map(() => null);
      this.batchCall = null;
    }

    mark(i, kind, delay, call) {
      const earlier = this.by[i];
      if (earlier !== null) {
        if (this.kinds[i] !== kind) {
          warn(`Received a call to ${call} on message ${this.ids[i]} after ${earlier} was already called. ` +
            `Calling ${call} on a message after calling ${earlier} has no effect.`);
        }
        return;
      }
      this.kinds[i] = kind;
      this.delays[i] = delay;
      this.by[i] = call;
    }

    markAll(kind, delay, call) {
      if (this.batchCall !== null && this.batchCall !== call) {
        warn(`Received a call to ${call} after ${this.batchCall} was already called. ` +
          `Calling ${call} after calling ${this.batchCall} has no effect on messages it already settled.`);
      }
      this.batchCall ??= call;
      for (let i = 0; i < this.ids.length; i++) {
        if (this.by[i] === null) {
          this.kinds[i] = kind;
          this.delays[i] = delay;
          this.by[i] = call;
        }
      }
    }
  }

  class Message {
    #decisions;
    #index;
    #id;
    #timestamp;
    #body;
    #attempts;

    constructor(token, decisions, index, id, timestamp, body, attempts) {
      if (token !== illegalConstructor) throw new TypeError("Illegal constructor");
      this.#decisions = decisions;
      this.#index = index;
      this.#id = id;
      this.#timestamp = timestamp;
      this.#body = body;
      this.#attempts = attempts;
    }

    get id() {
      if (!(#id in this)) throw internals.illegalInvocation();
      return this.#id;
    }
    get timestamp() {
      if (!(#id in this)) throw internals.illegalInvocation();
      return this.#timestamp;
    }
    get body() {
      if (!(#id in this)) throw internals.illegalInvocation();
      return this.#body;
    }
    get attempts() {
      if (!(#id in this)) throw internals.illegalInvocation();
      return this.#attempts;
    }
    ack() {
      if (!(#id in this)) throw internals.illegalInvocation();
      this.#decisions.mark(this.#index, "ack", null, "ack()");
    }
    retry(options) {
      if (!(#id in this)) throw internals.illegalInvocation();
      this.#decisions.mark(this.#index, "retry", retryDelayOf(options), "retry()");
    }
  }
  internals.setToStringTag(Message, "Message");

  class MessageBatch {
    #queue;
    #messages;
    #metadata;
    #decisions;

    constructor(token, queue, messages, metadata, decisions) {
      if (token !== illegalConstructor) throw new TypeError("Illegal constructor");
      this.#queue = queue;
      this.#messages = messages;
      this.#metadata = metadata;
      this.#decisions = decisions;
    }

    get queue() {
      if (!(#queue in this)) throw internals.illegalInvocation();
      return this.#queue;
    }
    get messages() {
      if (!(#queue in this)) throw internals.illegalInvocation();
      return this.#messages;
    }
    get metadata() {
      if (!(#queue in this)) throw internals.illegalInvocation();
      return this.#metadata;
    }
    ackAll() {
      if (!(#queue in this)) throw internals.illegalInvocation();
      this.#decisions.markAll("ack", null, "ackAll()");
    }
    retryAll(options) {
      if (!(#queue in this)) throw internals.illegalInvocation();
      this.#decisions.markAll("retry", retryDelayOf(options), "retryAll()");
    }
  }
  internals.setToStringTag(MessageBatch, "MessageBatch");

  // Service-worker syntax: the batch arrives as an event with MessageBatch's surface; it hands
  // every member to the MessageBatch it carries, so the rules live in one place.
  let batchOf;
  class QueueEvent extends internals.ExtendableEvent {
    #batch;

    constructor(type, init = undefined) {
      if (init?.[illegalConstructor] !== true) throw new TypeError("Illegal constructor");
      super(type);
      this.#batch = init.batch;
    }

    static {
      batchOf = (event) => {
        if (!(#batch in event)) throw internals.illegalInvocation();
        return event.#batch;
      };
    }

    get queue() {
      return batchOf(this).queue;
    }
    get messages() {
      return batchOf(this).messages;
    }
    get metadata() {
      return batchOf(this).metadata;
    }
    ackAll() {
      batchOf(this).ackAll();
    }
    retryAll(options) {
      batchOf(this).retryAll(options);
    }
  }
  internals.setToStringTag(QueueEvent, "QueueEvent");
  internals.defineGlobal("QueueEvent", QueueEvent);

  function decodeBody(contentType, bytes) {
    switch (contentType) {
      case "text":
        return utf8Decode(bytes);
      case "json":
        return JSON.parse(utf8Decode(bytes));
      case "bytes":
        return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
      case "v8":
        return ops.op_queue_deserialize(bytes);
      default:
        throw new TypeError(`Unsupported queue message content type: ${contentType}`);
    }
  }

  // Waits for every promise in `list` (which may grow meanwhile); returns the first rejection
  // as {reason}, or null.
  async function settleAll(list) {
    let seen = 0;
    let rejection = null;
    while (seen < list.length) {
      const batch = list.slice(seen);
      seen = list.length;
      for (const r of await Promise.allSettled(batch)) {
        if (r.status === "rejected" && rejection === null) rejection = { reason: r.reason };
      }
    }
    return rejection;
  }

  async function runQueue(queueName, flat, metricsFlat, envSpec, decisions, lifetime) {
    const env = internals.buildEnv(envSpec);
    const messages = [];
    for (let i = 0, n = 0; i + 4 < flat.length; i += 5, n++) {
      const body = decodeBody(flat[i + 2], flat[i + 3]);
      messages.push(new Message(illegalConstructor, decisions, n, flat[i], new Date(flat[i + 1]), body, flat[i + 4]));
    }
    Object.freeze(messages);
    const metadata = { metrics: metricsOf(metricsFlat) };
    const batch = new MessageBatch(illegalConstructor, queueName, messages, metadata, decisions);
    const mod = internals.moduleNamespace();
    if (mod !== null) {
      const handler = mod.default;
      const ctx = internals.newExecutionContext(lifetime);
      if (typeof handler === "function" && typeof handler.prototype?.queue === "function") {
        return new handler(ctx, env).queue(batch);
      }
      if (handler === null || typeof handler !== "object" || typeof handler.queue !== "function") {
        throw new Error("Handler does not export a queue() function.");
      }
      return handler.queue(batch, env, ctx);
    }

    for (const name of Object.keys(env)) internals.defineGlobal(name, env[name]);
    if (!internals.hasListeners(globalThis, "queue")) {
      throw new Error("No event listener registered for queue messages.");
    }
    const event = new QueueEvent("queue", { [illegalConstructor]: true, batch });
    let listenerError = null;
    try {
      internals.dispatchEventUnchecked(globalThis, event, (err) => {
        if (listenerError === null) listenerError = { err };
      });
    } finally {
      // event.waitUntil() promises share the invocation's lifetime.
      const eventLifetime = internals.extendableLifetime(event);
      lifetime.push(settleAll(eventLifetime).then((r) => {
        if (r !== null) throw r.reason;
      }));
    }
    if (listenerError !== null) throw listenerError.err;
  }

  internals.dispatchQueue = (reqId, queueName, flat, metricsFlat, envSpec) => {
    const ids = [];
    for (let i = 0; i + 4 < flat.length; i += 5) ids.push(flat[i]);
    const decisions = new Decisions(ids);
    const lifetime = [];
    (async () => {
      let failure = null;
      try {
        await runQueue(queueName, flat, metricsFlat, envSpec, decisions, lifetime);
      } catch (err) {
        failure = { err };
      }
      // For queue handlers a rejected waitUntil() promise fails the batch.
      try {
        const rejection = await settleAll(lifetime);
        if (failure === null && rejection !== null) failure = { err: rejection.reason };
      } catch (err) {
        failure ??= { err };
      }
      let error = null;
      if (failure !== null) {
        const [name, message, stack] = internals.errorFields(failure.err);
        error = { name, message, stack };
      }
      const outcomes = decisions.kinds.map((k, i) => [k, decisions.delays[i]]);
      ops.op_function_result(reqId, JSON.stringify({ outcomes, error }));
      ops.op_done(reqId);
    })();
  };
})
