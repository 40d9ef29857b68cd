(function (ops, internals) {
  "use strict";

  // WHATWG Streams. Each public object (stream, reader, writer, controller) keeps its spec
  // "internal slots" in a plain record held in a private field; the abstract operations below
  // work on those records, so public methods are thin brand-checked wrappers.

  const { defineGlobal, illegalInvocation, setToStringTag, illegalConstructor } = internals;

  function deferred() {
    const d = { settled: false };
    d.promise = new Promise((resolve, reject) => {
      d.resolve = (v) => { d.settled = true; resolve(v); };
      d.reject = (e) => { d.settled = true; reject(e); };
    });
    return d;
  }
  function markHandled(promise) {
    promise.then(undefined, () => {});
    return promise;
  }
  function rejectedDeferred(error) {
    const d = deferred();
    d.reject(error);
    markHandled(d.promise);
    return d;
  }
  const resolved = (v) => Promise.resolve(v);
  const rejected = (e) => Promise.reject(e);

  // Underlying source/sink/transformer methods are read once, at construction, per the spec.
  const noop = () => undefined;
  function userMethod(obj, name) {
    const method = obj?.[name];
    if (method === undefined || method === null) return null;
    if (typeof method !== "function") throw new TypeError(`The '${name}' property must be a function`);
    return (...args) => method.apply(obj, args);
  }
  // Runs a possibly-throwing, possibly-async algorithm and always returns a promise.
  function promiseCall(fn, ...args) {
    try {
      return resolved(fn(...args));
    } catch (e) {
      return rejected(e);
    }
  }

  function extractHighWaterMark(strategy, defaultHWM) {
    const hwm = strategy?.highWaterMark;
    if (hwm === undefined) return defaultHWM;
    const n = Number(hwm);
    if (Number.isNaN(n) || n < 0) throw new RangeError("The highWaterMark must be a non-negative number");
    return n;
  }
  function extractSize(strategy) {
    const size = strategy?.size;
    if (size === undefined) return () => 1;
    if (typeof size !== "function") throw new TypeError("The strategy's size must be a function");
    return (chunk) => size(chunk);
  }

  function enqueueValueWithSize(container, value, size) {
    const n = Number(size);
    if (Number.isNaN(n) || n < 0 || n === Infinity) {
      throw new RangeError("The chunk size must be a finite, non-negative number");
    }
    container.queue.push({ value, size: n });
    container.queueTotalSize += n;
  }
  function dequeueValue(container) {
    const pair = container.queue.shift();
    container.queueTotalSize = Math.max(0, container.queueTotalSize - pair.size);
    return pair.value;
  }
  function resetQueue(container) {
    container.queue = [];
    container.queueTotalSize = 0;
  }

  // ---------------------------------------------------------------- ReadableStream

  let readableState;
  let newReadableStream;

  class ReadableStream {
    #s;

    constructor(underlyingSource = undefined, strategy = undefined) {
      this.#s = initReadable(this);
      // Platform-created streams get their controller from createReadableStream().
      if (underlyingSource === illegalConstructor) return;
      if (underlyingSource !== undefined && underlyingSource !== null && typeof underlyingSource !== "object") {
        throw new TypeError("The underlying source must be an object");
      }
      if (strategy !== undefined && strategy !== null && typeof strategy !== "object") {
        throw new TypeError("The queuing strategy must be an object");
      }
      const type = underlyingSource?.type;
      if (type !== undefined && String(type) !== "bytes") {
        throw new TypeError(`Invalid underlying source type: ${String(type)}`);
      }
      const isBytes = type !== undefined;
      if (isBytes && strategy?.size !== undefined) {
        throw new RangeError("A byte stream's queuing strategy cannot have a size function");
      }
      const hwm = extractHighWaterMark(strategy, isBytes ? 0 : 1);
      const size = isBytes ? (chunk) => chunk.byteLength : extractSize(strategy);
      const start = userMethod(underlyingSource, "start");
      const pull = userMethod(underlyingSource, "pull");
      const cancel = userMethod(underlyingSource, "cancel");
      const controller = new ReadableStreamDefaultController(illegalConstructor);
      setupReadableController(this.#s, controller, {
        start: start ? () => start(controller) : noop,
        pull: pull ? () => pull(controller) : noop,
        cancel: cancel ?? noop,
        hwm,
        size,
        bytes: isBytes,
      });
    }

    static {
      readableState = (rs) => {
        if (rs === null || typeof rs !== "object" || !(#s in rs)) throw illegalInvocation();
        return rs.#s;
      };
      newReadableStream = () => new ReadableStream(illegalConstructor);
    }

    static from(asyncIterable) {
      const getAsync = asyncIterable?.[Symbol.asyncIterator];
      let iterator;
      if (getAsync != null) {
        iterator = getAsync.call(asyncIterable);
      } else {
        const getSync = asyncIterable?.[Symbol.iterator];
        if (typeof getSync !== "function") throw new TypeError("ReadableStream.from() requires an iterable");
        const syncIter = getSync.call(asyncIterable);
        iterator = {
          next: () => {
            const r = syncIter.next();
            return resolved(r.value).then((value) => ({ value, done: r.done }));
          },
          return: (v) => resolved(typeof syncIter.return === "function" ? syncIter.return(v) : { done: true }),
        };
      }
      if (iterator === null || typeof iterator !== "object") throw new TypeError("The iterator must be an object");
      return createReadableStream({
        pull(controller) {
          return resolved(iterator.next()).then((result) => {
            if (result === null || typeof result !== "object") throw new TypeError("The iterator result must be an object");
            if (result.done) controller.close();
            else controller.enqueue(result.value);
          });
        },
        cancel(reason) {
          const ret = iterator.return;
          if (ret === undefined || ret === null) return undefined;
          return resolved(ret.call(iterator, reason)).then((result) => {
            if (result === null || typeof result !== "object") throw new TypeError("The iterator result must be an object");
          });
        },
      }, 0);
    }

    get locked() {
      return readableState(this).reader !== null;
    }

    cancel(reason = undefined) {
      let s;
      try { s = readableState(this); } catch (e) { return rejected(e); }
      if (s.reader !== null) return rejected(new TypeError("This ReadableStream is currently locked to a reader."));
      return readableStreamCancel(s, reason);
    }

    getReader(options = undefined) {
      readableState(this);
      const mode = options?.mode;
      if (mode !== undefined) {
        if (String(mode) === "byob") {
          throw new TypeError("BYOB readers are not supported by this runtime");
        }
        throw new TypeError(`Invalid reader mode: ${String(mode)}`);
      }
      return new ReadableStreamDefaultReader(this);
    }

    pipeThrough(transform, options = undefined) {
      const s = readableState(this);
      const writable = transform?.writable;
      const readable = transform?.readable;
      const ws = writableState(writable);
      readableState(readable);
      if (s.reader !== null) throw new TypeError("This ReadableStream is currently locked to a reader.");
      if (ws.writer !== null) throw new TypeError("This WritableStream is currently locked to a writer.");
      markHandled(pipe(s, ws, pipeOptions(options)));
      return readable;
    }

    pipeTo(destination, options = undefined) {
      let s, ws, opts;
      try {
        s = readableState(this);
        ws = writableState(destination);
        opts = pipeOptions(options);
      } catch (e) {
        return rejected(e);
      }
      if (s.reader !== null) return rejected(new TypeError("This ReadableStream is currently locked to a reader."));
      if (ws.writer !== null) return rejected(new TypeError("This WritableStream is currently locked to a writer."));
      return pipe(s, ws, opts);
    }

    tee() {
      const s = readableState(this);
      return teeReadable(s);
    }

    values(options = undefined) {
      const s = readableState(this);
      return createAsyncIterator(s, Boolean(options?.preventCancel));
    }
  }
  setToStringTag(ReadableStream, "ReadableStream");
  Object.defineProperty(ReadableStream.prototype, Symbol.asyncIterator, {
    value: ReadableStream.prototype.values, writable: true, configurable: true,
  });

  function initReadable(pub) {
    return { pub, state: "readable", reader: null, storedError: undefined, disturbed: false, controller: null };
  }

  function setupReadableController(s, controllerPub, { start, pull, cancel, hwm, size, bytes }) {
    const c = {
      pub: controllerPub, stream: s, queue: [], queueTotalSize: 0, started: false, closeRequested: false,
      pullAgain: false, pulling: false, hwm, size, pull, cancel, bytes,
    };
    controllerStates.set(controllerPub, c);
    s.controller = c;
    let startResult;
    try {
      startResult = start();
    } catch (e) {
      readableControllerError(c, e);
      throw e;
    }
    resolved(startResult).then(() => {
      c.started = true;
      readableCallPullIfNeeded(c);
    }, (e) => readableControllerError(c, e));
  }

  // Streams the platform creates itself (bodies, tee branches, transforms) take plain algorithms.
  function createReadableStream(algorithms, hwm = 1, size = () => 1) {
    const rs = newReadableStream();
    const s = readableState(rs);
    const controller = new ReadableStreamDefaultController(illegalConstructor);
    setupReadableController(s, controller, {
      start: algorithms.start ? () => algorithms.start(controller) : noop,
      pull: algorithms.pull ? () => algorithms.pull(controller) : noop,
      cancel: algorithms.cancel ?? noop,
      hwm,
      size,
      bytes: false,
    });
    return rs;
  }

  function readableStreamClose(s) {
    s.state = "closed";
    const r = s.reader;
    if (r === null) return;
    r.closed.resolve(undefined);
    const requests = r.readRequests;
    r.readRequests = [];
    for (const req of requests) req.close();
  }

  function readableStreamError(s, e) {
    s.state = "errored";
    s.storedError = e;
    const r = s.reader;
    if (r === null) return;
    r.closed.reject(e);
    markHandled(r.closed.promise);
    const requests = r.readRequests;
    r.readRequests = [];
    for (const req of requests) req.error(e);
  }

  function readableStreamCancel(s, reason) {
    s.disturbed = true;
    if (s.state === "closed") return resolved(undefined);
    if (s.state === "errored") return rejected(s.storedError);
    readableStreamClose(s);
    const c = s.controller;
    resetQueue(c);
    const cancel = c.cancel;
    clearReadableAlgorithms(c);
    return promiseCall(cancel, reason).then(() => undefined);
  }

  function clearReadableAlgorithms(c) {
    c.pull = noop;
    c.cancel = noop;
    c.size = () => 1;
  }

  function readableCanCloseOrEnqueue(c) {
    return !c.closeRequested && c.stream.state === "readable";
  }

  function readableDesiredSize(c) {
    const state = c.stream.state;
    if (state === "errored") return null;
    if (state === "closed") return 0;
    return c.hwm - c.queueTotalSize;
  }

  function readableShouldCallPull(c) {
    if (!readableCanCloseOrEnqueue(c) || !c.started) return false;
    const r = c.stream.reader;
    if (r !== null && r.readRequests.length > 0) return true;
    return readableDesiredSize(c) > 0;
  }

  function readableCallPullIfNeeded(c) {
    if (!readableShouldCallPull(c)) return;
    if (c.pulling) {
      c.pullAgain = true;
      return;
    }
    c.pulling = true;
    promiseCall(c.pull).then(() => {
      c.pulling = false;
      if (c.pullAgain) {
        c.pullAgain = false;
        readableCallPullIfNeeded(c);
      }
    }, (e) => readableControllerError(c, e));
  }

  function readableControllerEnqueue(c, chunk) {
    const s = c.stream;
    const r = s.reader;
    if (r !== null && r.readRequests.length > 0) {
      r.readRequests.shift().chunk(chunk);
    } else {
      let size;
      try {
        size = c.size(chunk);
        enqueueValueWithSize(c, chunk, size);
      } catch (e) {
        readableControllerError(c, e);
        throw e;
      }
    }
    readableCallPullIfNeeded(c);
  }

  function readableControllerClose(c) {
    if (!readableCanCloseOrEnqueue(c)) return;
    c.closeRequested = true;
    if (c.queue.length === 0) {
      clearReadableAlgorithms(c);
      readableStreamClose(c.stream);
    }
  }

  function readableControllerError(c, e) {
    if (c.stream.state !== "readable") return;
    resetQueue(c);
    clearReadableAlgorithms(c);
    readableStreamError(c.stream, e);
  }

  function readablePullSteps(c, request) {
    if (c.queue.length > 0) {
      const chunk = dequeueValue(c);
      if (c.closeRequested && c.queue.length === 0) {
        clearReadableAlgorithms(c);
        readableStreamClose(c.stream);
      } else {
        readableCallPullIfNeeded(c);
      }
      request.chunk(chunk);
    } else {
      c.stream.reader.readRequests.push(request);
      readableCallPullIfNeeded(c);
    }
  }

  function readerRead(r, request) {
    const s = r.stream;
    s.disturbed = true;
    if (s.state === "closed") request.close();
    else if (s.state === "errored") request.error(s.storedError);
    else readablePullSteps(s.controller, request);
  }

  function readerReadPromise(r) {
    const d = deferred();
    readerRead(r, {
      chunk: (value) => d.resolve({ value, done: false }),
      close: () => d.resolve({ value: undefined, done: true }),
      error: (e) => d.reject(e),
    });
    return d.promise;
  }

  function acquireReader(s) {
    const r = { pub: null, stream: s, readRequests: [], closed: deferred() };
    s.reader = r;
    if (s.state === "closed") r.closed.resolve(undefined);
    else if (s.state === "errored") {
      r.closed.reject(s.storedError);
      markHandled(r.closed.promise);
    }
    return r;
  }

  function releaseReader(r) {
    const s = r.stream;
    const error = new TypeError("This ReadableStream reader has been released.");
    if (s.state === "readable") r.closed.reject(error);
    else r.closed = rejectedDeferred(error);
    markHandled(r.closed.promise);
    s.reader = null;
    r.stream = null;
    const requests = r.readRequests;
    r.readRequests = [];
    for (const req of requests) req.error(error);
  }

  const controllerStates = new WeakMap();

  class ReadableStreamDefaultController {
    constructor(key) {
      if (key !== illegalConstructor) throw new TypeError("Illegal constructor");
    }
    #c() {
      const c = controllerStates.get(this);
      if (!c || !("closeRequested" in c)) throw illegalInvocation();
      return c;
    }
    get desiredSize() {
      return readableDesiredSize(this.#c());
    }
    close() {
      const c = this.#c();
      if (!readableCanCloseOrEnqueue(c)) throw new TypeError("The stream is not in a state that permits close");
      readableControllerClose(c);
    }
    enqueue(chunk = undefined) {
      const c = this.#c();
      if (!readableCanCloseOrEnqueue(c)) throw new TypeError("The stream is not in a state that permits enqueue");
      if (c.bytes) {
        if (!ArrayBuffer.isView(chunk)) throw new TypeError("The chunk must be an ArrayBufferView");
        if (chunk.byteLength === 0) throw new TypeError("The chunk must not be empty");
      }
      readableControllerEnqueue(c, chunk);
    }
    error(e = undefined) {
      readableControllerError(this.#c(), e);
    }
  }
  setToStringTag(ReadableStreamDefaultController, "ReadableStreamDefaultController");

  const readerStates = new WeakMap();

  class ReadableStreamDefaultReader {
    constructor(stream) {
      const s = readableState(stream);
      if (s.reader !== null) throw new TypeError("This ReadableStream is currently locked to a reader.");
      const r = acquireReader(s);
      r.pub = this;
      readerStates.set(this, r);
    }
    #r() {
      const r = readerStates.get(this);
      if (!r) throw illegalInvocation();
      return r;
    }
    get closed() {
      let r;
      try { r = this.#r(); } catch (e) { return rejected(e); }
      return r.closed.promise;
    }
    read() {
      let r;
      try { r = this.#r(); } catch (e) { return rejected(e); }
      if (r.stream === null) return rejected(new TypeError("This ReadableStream reader has been released."));
      return readerReadPromise(r);
    }
    releaseLock() {
      const r = this.#r();
      if (r.stream !== null) releaseReader(r);
    }
    cancel(reason = undefined) {
      let r;
      try { r = this.#r(); } catch (e) { return rejected(e); }
      if (r.stream === null) return rejected(new TypeError("This ReadableStream reader has been released."));
      return readableStreamCancel(r.stream, reason);
    }
  }
  setToStringTag(ReadableStreamDefaultReader, "ReadableStreamDefaultReader");

  function teeReadable(s) {
    const r = acquireReader(s);
    let reading = false;
    let readAgain = false;
    let canceled1 = false;
    let canceled2 = false;
    let reason1;
    let reason2;
    let branch1;
    let branch2;
    const cancelPromise = deferred();

    function pull() {
      if (reading) {
        readAgain = true;
        return resolved(undefined);
      }
      reading = true;
      readerRead(r, {
        chunk(chunk) {
          // Resolving in a microtask keeps a synchronous read of one branch from starving the other.
          queueMicrotask(() => {
            readAgain = false;
            if (!canceled1) readableControllerEnqueue(readableState(branch1).controller, chunk);
            if (!canceled2) readableControllerEnqueue(readableState(branch2).controller, chunk);
            reading = false;
            if (readAgain) pull();
          });
        },
        close() {
          reading = false;
          if (!canceled1) readableControllerClose(readableState(branch1).controller);
          if (!canceled2) readableControllerClose(readableState(branch2).controller);
          if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
        },
        error() {
          reading = false;
        },
      });
      return resolved(undefined);
    }

    branch1 = createReadableStream({
      pull,
      cancel(reason) {
        canceled1 = true;
        reason1 = reason;
        if (canceled2) cancelPromise.resolve(readableStreamCancel(s, [reason1, reason2]));
        return cancelPromise.promise;
      },
    });
    branch2 = createReadableStream({
      pull,
      cancel(reason) {
        canceled2 = true;
        reason2 = reason;
        if (canceled1) cancelPromise.resolve(readableStreamCancel(s, [reason1, reason2]));
        return cancelPromise.promise;
      },
    });
    r.closed.promise.then(undefined, (e) => {
      readableControllerError(readableState(branch1).controller, e);
      readableControllerError(readableState(branch2).controller, e);
      if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
    });
    return [branch1, branch2];
  }

  const AsyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);
  const asyncIteratorStates = new WeakMap();
  const ReadableStreamAsyncIteratorPrototype = Object.create(AsyncIteratorPrototype, {
    next: {
      value: function next() {
        const it = asyncIteratorStates.get(this);
        if (!it) return rejected(illegalInvocation());
        const step = () => {
          if (it.finished) return resolved({ value: undefined, done: true });
          const r = it.reader;
          if (r.stream === null) return rejected(new TypeError("The iterator's reader has been released."));
          return readerReadPromise(r).then((result) => {
            if (result.done) {
              it.finished = true;
              releaseReader(r);
            }
            return result;
          }, (e) => {
            it.finished = true;
            releaseReader(r);
            throw e;
          });
        };
        it.ongoing = it.ongoing ? it.ongoing.then(step, step) : step();
        return it.ongoing;
      },
      writable: true,
      configurable: true,
    },
    return: {
      value: function (value) {
        const it = asyncIteratorStates.get(this);
        if (!it) return rejected(illegalInvocation());
        const step = () => {
          if (it.finished) return resolved({ value, done: true });
          it.finished = true;
          const r = it.reader;
          if (r.stream === null) return rejected(new TypeError("The iterator's reader has been released."));
          if (!it.preventCancel) {
            const result = readableStreamCancel(r.stream, value);
            releaseReader(r);
            return result.then(() => ({ value, done: true }));
          }
          releaseReader(r);
          return resolved({ value, done: true });
        };
        it.ongoing = it.ongoing ? it.ongoing.then(step, step) : step();
        return it.ongoing;
      },
      writable: true,
      configurable: true,
    },
    [Symbol.toStringTag]: { value: "ReadableStream AsyncIterator", configurable: true },
  });

  function createAsyncIterator(s, preventCancel) {
    if (s.reader !== null) throw new TypeError("This ReadableStream is currently locked to a reader.");
    const iterator = Object.create(ReadableStreamAsyncIteratorPrototype);
    asyncIteratorStates.set(iterator, { reader: acquireReader(s), preventCancel, finished: false, ongoing: null });
    return iterator;
  }

  // ---------------------------------------------------------------- WritableStream

  let writableState;
  let newWritableStream;

  class WritableStream {
    #s;
    constructor(underlyingSink = undefined, strategy = undefined) {
      this.#s = initWritable(this);
      if (underlyingSink === illegalConstructor) return;
      if (underlyingSink !== undefined && underlyingSink !== null && typeof underlyingSink !== "object") {
        throw new TypeError("The underlying sink must be an object");
      }
      if (underlyingSink?.type !== undefined) throw new RangeError("Invalid underlying sink type");
      const hwm = extractHighWaterMark(strategy, 1);
      const size = extractSize(strategy);
      const start = userMethod(underlyingSink, "start");
      const write = userMethod(underlyingSink, "write");
      const close = userMethod(underlyingSink, "close");
      const abort = userMethod(underlyingSink, "abort");
      const controller = new WritableStreamDefaultController(illegalConstructor);
      setupWritableController(this.#s, controller, {
        start: start ? () => start(controller) : noop,
        write: write ? (chunk) => write(chunk, controller) : noop,
        close: close ?? noop,
        abort: abort ?? noop,
        hwm,
        size,
      });
    }

    static {
      writableState = (ws) => {
        if (ws === null || typeof ws !== "object" || !(#s in ws)) throw illegalInvocation();
        return ws.#s;
      };
      newWritableStream = () => new WritableStream(illegalConstructor);
    }

    get locked() {
      return writableState(this).writer !== null;
    }
    abort(reason = undefined) {
      let s;
      try { s = writableState(this); } catch (e) { return rejected(e); }
      if (s.writer !== null) return rejected(new TypeError("This WritableStream is currently locked to a writer."));
      return writableStreamAbort(s, reason);
    }
    close() {
      let s;
      try { s = writableState(this); } catch (e) { return rejected(e); }
      if (s.writer !== null) return rejected(new TypeError("This WritableStream is currently locked to a writer."));
      if (closeQueuedOrInFlight(s)) return rejected(new TypeError("This WritableStream is closed or closing."));
      return writableStreamClose(s);
    }
    getWriter() {
      return new WritableStreamDefaultWriter(this);
    }
  }
  setToStringTag(WritableStream, "WritableStream");

  function initWritable(pub) {
    return {
      pub, state: "writable", storedError: undefined, writer: null, controller: null,
      inFlightWriteRequest: null, closeRequest: null, inFlightCloseRequest: null,
      pendingAbortRequest: null, writeRequests: [], backpressure: false,
    };
  }

  const CLOSE_SENTINEL = Symbol("close");

  function setupWritableController(s, controllerPub, { start, write, close, abort, hwm, size }) {
    const c = {
      pub: controllerPub, stream: s, queue: [], queueTotalSize: 0, started: false,
      hwm, size, write, close, abort, abortController: new AbortController(),
    };
    controllerStates.set(controllerPub, c);
    s.controller = c;
    updateBackpressure(s, writableGetBackpressure(c));
    resolved(start()).then(() => {
      c.started = true;
      writableAdvanceQueueIfNeeded(c);
    }, (e) => {
      c.started = true;
      writableDealWithRejection(s, e);
    });
  }

  function createWritableStream(algorithms, hwm = 1, size = () => 1) {
    const ws = newWritableStream();
    const s = writableState(ws);
    const controller = new WritableStreamDefaultController(illegalConstructor);
    setupWritableController(s, controller, {
      start: algorithms.start ? () => algorithms.start(controller) : noop,
      write: algorithms.write ?? noop,
      close: algorithms.close ?? noop,
      abort: algorithms.abort ?? noop,
      hwm,
      size,
    });
    return ws;
  }

  function closeQueuedOrInFlight(s) {
    return s.closeRequest !== null || s.inFlightCloseRequest !== null;
  }
  function hasOperationMarkedInFlight(s) {
    return s.inFlightWriteRequest !== null || s.inFlightCloseRequest !== null;
  }

  function writableStreamAbort(s, reason) {
    if (s.state === "closed" || s.state === "errored") return resolved(undefined);
    s.controller.abortController.abort(reason);
    if (s.state === "closed" || s.state === "errored") return resolved(undefined);
    if (s.pendingAbortRequest !== null) return s.pendingAbortRequest.promise.promise;
    const wasAlreadyErroring = s.state === "erroring";
    if (wasAlreadyErroring) reason = undefined;
    const promise = deferred();
    s.pendingAbortRequest = { promise, reason, wasAlreadyErroring };
    if (!wasAlreadyErroring) writableStartErroring(s, reason);
    return promise.promise;
  }

  function writableStreamClose(s) {
    if (s.state === "closed" || s.state === "errored") {
      return rejected(new TypeError("This WritableStream is closed or errored."));
    }
    const promise = deferred();
    s.closeRequest = promise;
    const w = s.writer;
    if (w !== null && s.backpressure && s.state === "writable") w.ready.resolve(undefined);
    enqueueValueWithSize(s.controller, CLOSE_SENTINEL, 0);
    writableAdvanceQueueIfNeeded(s.controller);
    return promise.promise;
  }

  function writableDealWithRejection(s, error) {
    if (s.state === "writable") writableStartErroring(s, error);
    else writableFinishErroring(s);
  }

  function writableStartErroring(s, reason) {
    const c = s.controller;
    s.state = "erroring";
    s.storedError = reason;
    const w = s.writer;
    if (w !== null) writerEnsureReadyRejected(w, reason);
    if (!hasOperationMarkedInFlight(s) && c.started) writableFinishErroring(s);
  }

  function writableFinishErroring(s) {
    s.state = "errored";
    resetQueue(s.controller);
    const error = s.storedError;
    for (const req of s.writeRequests) req.reject(error);
    s.writeRequests = [];
    const abortRequest = s.pendingAbortRequest;
    if (abortRequest === null) {
      writableRejectCloseAndClosedIfNeeded(s);
      return;
    }
    s.pendingAbortRequest = null;
    if (abortRequest.wasAlreadyErroring) {
      abortRequest.promise.reject(error);
      writableRejectCloseAndClosedIfNeeded(s);
      return;
    }
    const abort = s.controller.abort;
    clearWritableAlgorithms(s.controller);
    promiseCall(abort, abortRequest.reason).then(() => {
      abortRequest.promise.resolve(undefined);
      writableRejectCloseAndClosedIfNeeded(s);
    }, (e) => {
      abortRequest.promise.reject(e);
      writableRejectCloseAndClosedIfNeeded(s);
    });
  }

  function writableRejectCloseAndClosedIfNeeded(s) {
    if (s.closeRequest !== null) {
      s.closeRequest.reject(s.storedError);
      s.closeRequest = null;
    }
    const w = s.writer;
    if (w !== null) {
      w.closed.reject(s.storedError);
      markHandled(w.closed.promise);
    }
  }

  function writableFinishInFlightWrite(s) {
    s.inFlightWriteRequest.resolve(undefined);
    s.inFlightWriteRequest = null;
  }
  function writableFinishInFlightWriteWithError(s, error) {
    s.inFlightWriteRequest.reject(error);
    s.inFlightWriteRequest = null;
    writableDealWithRejection(s, error);
  }
  function writableFinishInFlightClose(s) {
    s.inFlightCloseRequest.resolve(undefined);
    s.inFlightCloseRequest = null;
    if (s.state === "erroring") {
      s.storedError = undefined;
      if (s.pendingAbortRequest !== null) {
        s.pendingAbortRequest.promise.resolve(undefined);
        s.pendingAbortRequest = null;
      }
    }
    s.state = "closed";
    if (s.writer !== null) s.writer.closed.resolve(undefined);
  }
  function writableFinishInFlightCloseWithError(s, error) {
    s.inFlightCloseRequest.reject(error);
    s.inFlightCloseRequest = null;
    if (s.pendingAbortRequest !== null) {
      s.pendingAbortRequest.promise.reject(error);
      s.pendingAbortRequest = null;
    }
    writableDealWithRejection(s, error);
  }

  function updateBackpressure(s, backpressure) {
    const w = s.writer;
    if (w !== null && backpressure !== s.backpressure) {
      if (backpressure) w.ready = deferred();
      else w.ready.resolve(undefined);
    }
    s.backpressure = backpressure;
  }

  function clearWritableAlgorithms(c) {
    c.write = noop;
    c.close = noop;
    c.abort = noop;
    c.size = () => 1;
  }

  function writableDesiredSize(c) {
    return c.hwm - c.queueTotalSize;
  }
  function writableGetBackpressure(c) {
    return writableDesiredSize(c) <= 0;
  }

  function writableControllerErrorIfNeeded(c, error) {
    if (c.stream.state === "writable") writableControllerError(c, error);
  }
  function writableControllerError(c, error) {
    clearWritableAlgorithms(c);
    writableStartErroring(c.stream, error);
  }

  function writableGetChunkSize(c, chunk) {
    try {
      return c.size(chunk);
    } catch (e) {
      writableControllerErrorIfNeeded(c, e);
      return 1;
    }
  }

  function writableControllerWrite(c, chunk, size) {
    try {
      enqueueValueWithSize(c, chunk, size);
    } catch (e) {
      writableControllerErrorIfNeeded(c, e);
      return;
    }
    const s = c.stream;
    if (!closeQueuedOrInFlight(s) && s.state === "writable") updateBackpressure(s, writableGetBackpressure(c));
    writableAdvanceQueueIfNeeded(c);
  }

  function writableAdvanceQueueIfNeeded(c) {
    const s = c.stream;
    if (!c.started || s.inFlightWriteRequest !== null) return;
    if (s.state === "erroring") {
      writableFinishErroring(s);
      return;
    }
    if (c.queue.length === 0) return;
    const value = c.queue[0].value;
    if (value === CLOSE_SENTINEL) {
      s.inFlightCloseRequest = s.closeRequest;
      s.closeRequest = null;
      dequeueValue(c);
      const close = c.close;
      clearWritableAlgorithms(c);
      promiseCall(close).then(
        () => writableFinishInFlightClose(s),
        (e) => writableFinishInFlightCloseWithError(s, e),
      );
    } else {
      s.inFlightWriteRequest = s.writeRequests.shift();
      promiseCall(c.write, value).then(() => {
        writableFinishInFlightWrite(s);
        dequeueValue(c);
        if (!closeQueuedOrInFlight(s) && s.state === "writable") updateBackpressure(s, writableGetBackpressure(c));
        writableAdvanceQueueIfNeeded(c);
      }, (e) => {
        if (s.state === "writable") clearWritableAlgorithms(c);
        writableFinishInFlightWriteWithError(s, e);
      });
    }
  }

  class WritableStreamDefaultController {
    constructor(key) {
      if (key !== illegalConstructor) throw new TypeError("Illegal constructor");
    }
    #c() {
      const c = controllerStates.get(this);
      if (!c || !("abortController" in c)) throw illegalInvocation();
      return c;
    }
    get signal() {
      return this.#c().abortController.signal;
    }
    error(e = undefined) {
      const c = this.#c();
      if (c.stream.state !== "writable") return;
      writableControllerError(c, e);
    }
  }
  setToStringTag(WritableStreamDefaultController, "WritableStreamDefaultController");

  function writerEnsureReadyRejected(w, error) {
    if (w.ready.settled) w.ready = rejectedDeferred(error);
    else {
      w.ready.reject(error);
      markHandled(w.ready.promise);
    }
  }
  function writerEnsureClosedRejected(w, error) {
    if (w.closed.settled) w.closed = rejectedDeferred(error);
    else {
      w.closed.reject(error);
      markHandled(w.closed.promise);
    }
  }

  function acquireWriter(s) {
    if (s.writer !== null) throw new TypeError("This WritableStream is currently locked to a writer.");
    const w = { pub: null, stream: s, ready: deferred(), closed: deferred() };
    s.writer = w;
    const state = s.state;
    if (state === "writable") {
      if (closeQueuedOrInFlight(s) || !s.backpressure) w.ready.resolve(undefined);
    } else if (state === "erroring") {
      w.ready = rejectedDeferred(s.storedError);
    } else if (state === "closed") {
      w.ready.resolve(undefined);
      w.closed.resolve(undefined);
    } else {
      w.ready = rejectedDeferred(s.storedError);
      w.closed = rejectedDeferred(s.storedError);
    }
    return w;
  }

  function releaseWriter(w) {
    const s = w.stream;
    const error = new TypeError("This WritableStream writer has been released.");
    writerEnsureReadyRejected(w, error);
    writerEnsureClosedRejected(w, error);
    s.writer = null;
    w.stream = null;
  }

  function writerWrite(w, chunk) {
    const s = w.stream;
    const c = s.controller;
    const size = writableGetChunkSize(c, chunk);
    if (s !== w.stream) return rejected(new TypeError("This WritableStream writer has been released."));
    if (s.state === "errored") return rejected(s.storedError);
    if (closeQueuedOrInFlight(s) || s.state === "closed") {
      return rejected(new TypeError("This WritableStream is closed or closing."));
    }
    if (s.state === "erroring") return rejected(s.storedError);
    const promise = deferred();
    s.writeRequests.push(promise);
    writableControllerWrite(c, chunk, size);
    return promise.promise;
  }

  function writerCloseWithErrorPropagation(w) {
    const s = w.stream;
    if (closeQueuedOrInFlight(s) || s.state === "closed") return resolved(undefined);
    if (s.state === "errored") return rejected(s.storedError);
    return writableStreamClose(s);
  }

  const writerStates = new WeakMap();

  class WritableStreamDefaultWriter {
    constructor(stream) {
      const w = acquireWriter(writableState(stream));
      w.pub = this;
      writerStates.set(this, w);
    }
    #w() {
      const w = writerStates.get(this);
      if (!w) throw illegalInvocation();
      return w;
    }
    get closed() {
      let w;
      try { w = this.#w(); } catch (e) { return rejected(e); }
      return w.closed.promise;
    }
    get ready() {
      let w;
      try { w = this.#w(); } catch (e) { return rejected(e); }
      return w.ready.promise;
    }
    get desiredSize() {
      const w = this.#w();
      const s = w.stream;
      if (s === null) throw new TypeError("This WritableStream writer has been released.");
      if (s.state === "errored" || s.state === "erroring") return null;
      if (s.state === "closed") return 0;
      return writableDesiredSize(s.controller);
    }
    abort(reason = undefined) {
      let w;
      try { w = this.#w(); } catch (e) { return rejected(e); }
      if (w.stream === null) return rejected(new TypeError("This WritableStream writer has been released."));
      return writableStreamAbort(w.stream, reason);
    }
    close() {
      let w;
      try { w = this.#w(); } catch (e) { return rejected(e); }
      const s = w.stream;
      if (s === null) return rejected(new TypeError("This WritableStream writer has been released."));
      if (closeQueuedOrInFlight(s)) return rejected(new TypeError("This WritableStream is closed or closing."));
      return writableStreamClose(s);
    }
    releaseLock() {
      const w = this.#w();
      if (w.stream !== null) releaseWriter(w);
    }
    write(chunk = undefined) {
      let w;
      try { w = this.#w(); } catch (e) { return rejected(e); }
      if (w.stream === null) return rejected(new TypeError("This WritableStream writer has been released."));
      return writerWrite(w, chunk);
    }
  }
  setToStringTag(WritableStreamDefaultWriter, "WritableStreamDefaultWriter");

  // ---------------------------------------------------------------- piping

  function pipeOptions(options) {
    if (options !== undefined && options !== null && typeof options !== "object") {
      throw new TypeError("The pipe options must be an object");
    }
    const signal = options?.signal;
    if (signal !== undefined && !internals.isAbortSignal(signal)) {
      throw new TypeError("The 'signal' option must be an AbortSignal");
    }
    return {
      preventClose: Boolean(options?.preventClose),
      preventAbort: Boolean(options?.preventAbort),
      preventCancel: Boolean(options?.preventCancel),
      signal,
    };
  }

  function pipe(source, dest, { preventClose, preventAbort, preventCancel, signal }) {
    const reader = acquireReader(source);
    const writer = acquireWriter(dest);
    source.disturbed = true;
    const result = deferred();
    let shuttingDown = false;
    let currentWrite = resolved(undefined);

    const finalize = (isError, error) => {
      releaseWriter(writer);
      releaseReader(reader);
      signal?.removeEventListener("abort", onAbort);
      if (isError) result.reject(error);
      else result.resolve(undefined);
    };
    // Pending writes finish before the action runs, so no chunk read from the source is lost.
    const shutdown = (action, isError, error) => {
      if (shuttingDown) return;
      shuttingDown = true;
      const waitForWrites = dest.state === "writable" && !closeQueuedOrInFlight(dest)
        ? currentWrite.then(() => undefined, () => undefined)
        : resolved(undefined);
      waitForWrites
        .then(() => (action ? action() : undefined))
        .then(() => finalize(isError, error), (newError) => finalize(true, newError));
    };
    function onAbort() {
      const error = signal.reason;
      shutdown(() => Promise.all([
        !preventAbort && dest.state === "writable" ? writableStreamAbort(dest, error) : undefined,
        !preventCancel && source.state === "readable" ? readableStreamCancel(source, error) : undefined,
      ]), true, error);
    }
    if (signal) {
      if (signal.aborted) {
        onAbort();
        return result.promise;
      }
      signal.addEventListener("abort", onAbort);
    }

    const sourceErrored = (error) => {
      if (!preventAbort) shutdown(() => writableStreamAbort(dest, error), true, error);
      else shutdown(null, true, error);
    };
    const destErrored = (error) => {
      if (!preventCancel) shutdown(() => readableStreamCancel(source, error), true, error);
      else shutdown(null, true, error);
    };
    const sourceClosed = () => {
      if (!preventClose) shutdown(() => writerCloseWithErrorPropagation(writer), false);
      else shutdown(null, false);
    };

    reader.closed.promise.then(undefined, sourceErrored);
    writer.closed.promise.then(undefined, destErrored);
    if (source.state === "errored") sourceErrored(source.storedError);
    else if (dest.state === "errored" || dest.state === "erroring") destErrored(dest.storedError);
    else if (closeQueuedOrInFlight(dest) || dest.state === "closed") {
      const error = new TypeError("The destination WritableStream is closed or closing.");
      if (!preventCancel) shutdown(() => readableStreamCancel(source, error), true, error);
      else shutdown(null, true, error);
    } else if (source.state === "closed") {
      sourceClosed();
    }

    (async () => {
      while (!shuttingDown) {
        try {
          await writer.ready.promise;
        } catch {
          return;
        }
        if (shuttingDown) return;
        let step;
        try {
          step = await readerReadPromise(reader);
        } catch {
          return;
        }
        if (step.done) {
          sourceClosed();
          return;
        }
        currentWrite = writerWrite(writer, step.value);
        markHandled(currentWrite);
      }
    })();
    return result.promise;
  }

  // ---------------------------------------------------------------- TransformStream

  let transformState;

  class TransformStream {
    #t;
    constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
      if (transformer !== undefined && transformer !== null && typeof transformer !== "object") {
        throw new TypeError("The transformer must be an object");
      }
      if (transformer?.readableType !== undefined) throw new RangeError("Invalid readableType");
      if (transformer?.writableType !== undefined) throw new RangeError("Invalid writableType");
      const writableHWM = extractHighWaterMark(writableStrategy, 1);
      const writableSize = extractSize(writableStrategy);
      const readableHWM = extractHighWaterMark(readableStrategy, 0);
      const readableSize = extractSize(readableStrategy);
      const controller = new TransformStreamDefaultController(illegalConstructor);
      const start = userMethod(transformer, "start");
      const transform = userMethod(transformer, "transform");
      const flush = userMethod(transformer, "flush");
      const cancel = userMethod(transformer, "cancel");
      this.#t = initTransform(controller, {
        transform: transform ? (chunk) => transform(chunk, controller) : null,
        flush: flush ? () => flush(controller) : noop,
        cancel: cancel ?? noop,
        writableHWM, writableSize, readableHWM, readableSize,
      }, start ? () => start(controller) : noop);
    }
    static {
      transformState = (ts) => {
        if (ts === null || typeof ts !== "object" || !(#t in ts)) throw illegalInvocation();
        return ts.#t;
      };
    }
    get readable() {
      return transformState(this).readable;
    }
    get writable() {
      return transformState(this).writable;
    }
  }
  setToStringTag(TransformStream, "TransformStream");

  function initTransform(controllerPub, algorithms, start) {
    const startPromise = deferred();
    const t = {
      readable: null, writable: null, backpressure: undefined, backpressureChange: null, controller: null,
    };
    const c = {
      pub: controllerPub, stream: t, finish: null,
      transform: algorithms.transform ?? ((chunk) => {
        transformEnqueue(c, chunk);
        return undefined;
      }),
      flush: algorithms.flush,
      cancel: algorithms.cancel,
    };
    t.controller = c;
    controllerStates.set(controllerPub, c);
    t.writable = createWritableStream({
      start: () => startPromise.promise,
      write: (chunk) => transformSinkWrite(t, chunk),
      close: () => transformSinkClose(t),
      abort: (reason) => transformSinkAbort(t, reason),
    }, algorithms.writableHWM, algorithms.writableSize);
    t.readable = createReadableStream({
      start: () => startPromise.promise,
      pull: () => transformSourcePull(t),
      cancel: (reason) => transformSourceCancel(t, reason),
    }, algorithms.readableHWM, algorithms.readableSize);
    setTransformBackpressure(t, true);
    try {
      startPromise.resolve(start());
    } catch (e) {
      startPromise.reject(e);
    }
    return t;
  }

  function readableCtl(t) {
    return readableState(t.readable).controller;
  }
  function writableOf(t) {
    return writableState(t.writable);
  }

  function setTransformBackpressure(t, backpressure) {
    if (t.backpressureChange !== null) t.backpressureChange.resolve(undefined);
    t.backpressureChange = deferred();
    t.backpressure = backpressure;
  }

  function clearTransformAlgorithms(c) {
    c.transform = noop;
    c.flush = noop;
    c.cancel = noop;
  }

  function transformErrorWritableAndUnblockWrite(t, e) {
    clearTransformAlgorithms(t.controller);
    writableControllerErrorIfNeeded(writableOf(t).controller, e);
    if (t.backpressure) setTransformBackpressure(t, false);
  }

  function transformError(t, e) {
    readableControllerError(readableCtl(t), e);
    transformErrorWritableAndUnblockWrite(t, e);
  }

  function transformEnqueue(c, chunk) {
    const t = c.stream;
    const rc = readableCtl(t);
    if (!readableCanCloseOrEnqueue(rc)) throw new TypeError("The readable side is not in a state that permits enqueue");
    try {
      readableControllerEnqueue(rc, chunk);
    } catch (e) {
      transformErrorWritableAndUnblockWrite(t, e);
      throw readableState(t.readable).storedError;
    }
    const backpressure = !readableShouldCallPull(rc);
    if (backpressure !== t.backpressure) setTransformBackpressure(t, true);
  }

  function transformTerminate(c) {
    const t = c.stream;
    readableControllerClose(readableCtl(t));
    transformErrorWritableAndUnblockWrite(t, new TypeError("The transform stream has been terminated"));
  }

  function performTransform(c, chunk) {
    return promiseCall(c.transform, chunk).catch((r) => {
      transformError(c.stream, r);
      throw r;
    });
  }

  function transformSinkWrite(t, chunk) {
    const c = t.controller;
    if (t.backpressure) {
      return t.backpressureChange.promise.then(() => {
        const ws = writableOf(t);
        if (ws.state === "erroring") throw ws.storedError;
        return performTransform(c, chunk);
      });
    }
    return performTransform(c, chunk);
  }

  function transformSinkAbort(t, reason) {
    const c = t.controller;
    if (c.finish !== null) return c.finish.promise;
    const rs = readableState(t.readable);
    c.finish = deferred();
    const cancel = c.cancel;
    clearTransformAlgorithms(c);
    promiseCall(cancel, reason).then(() => {
      if (rs.state === "errored") c.finish.reject(rs.storedError);
      else {
        readableControllerError(rs.controller, reason);
        c.finish.resolve(undefined);
      }
    }, (r) => {
      readableControllerError(rs.controller, r);
      c.finish.reject(r);
    });
    return c.finish.promise;
  }

  function transformSinkClose(t) {
    const c = t.controller;
    if (c.finish !== null) return c.finish.promise;
    const rs = readableState(t.readable);
    c.finish = deferred();
    const flush = c.flush;
    clearTransformAlgorithms(c);
    promiseCall(flush).then(() => {
      if (rs.state === "errored") c.finish.reject(rs.storedError);
      else {
        readableControllerClose(rs.controller);
        c.finish.resolve(undefined);
      }
    }, (r) => {
      readableControllerError(rs.controller, r);
      c.finish.reject(r);
    });
    return c.finish.promise;
  }

  function transformSourcePull(t) {
    setTransformBackpressure(t, false);
    return t.backpressureChange.promise;
  }

  function transformSourceCancel(t, reason) {
    const c = t.controller;
    if (c.finish !== null) return c.finish.promise;
    const ws = writableOf(t);
    c.finish = deferred();
    const cancel = c.cancel;
    clearTransformAlgorithms(c);
    promiseCall(cancel, reason).then(() => {
      if (ws.state === "errored") c.finish.reject(ws.storedError);
      else {
        writableControllerErrorIfNeeded(ws.controller, reason);
        if (t.backpressure) setTransformBackpressure(t, false);
        c.finish.resolve(undefined);
      }
    }, (r) => {
      writableControllerErrorIfNeeded(ws.controller, r);
      if (t.backpressure) setTransformBackpressure(t, false);
      c.finish.reject(r);
    });
    return c.finish.promise;
  }

  class TransformStreamDefaultController {
    constructor(key) {
      if (key !== illegalConstructor) throw new TypeError("Illegal constructor");
    }
    #c() {
      const c = controllerStates.get(this);
      if (!c || !("flush" in c)) throw illegalInvocation();
      return c;
    }
    get desiredSize() {
      return readableDesiredSize(readableCtl(this.#c().stream));
    }
    enqueue(chunk = undefined) {
      transformEnqueue(this.#c(), chunk);
    }
    error(reason = undefined) {
      transformError(this.#c().stream, reason);
    }
    terminate() {
      transformTerminate(this.#c());
    }
  }
  setToStringTag(TransformStreamDefaultController, "TransformStreamDefaultController");

  // ---------------------------------------------------------------- strategies

  class ByteLengthQueuingStrategy {
    #hwm;
    constructor(init) {
      if (init === null || typeof init !== "object" || init.highWaterMark === undefined) {
        throw new TypeError("ByteLengthQueuingStrategy requires a highWaterMark");
      }
      this.#hwm = Number(init.highWaterMark);
    }
    get highWaterMark() {
      if (!(#hwm in this)) throw illegalInvocation();
      return this.#hwm;
    }
    get size() {
      if (!(#hwm in this)) throw illegalInvocation();
      return byteLengthSize;
    }
  }
  const byteLengthSize = function size(chunk) { return chunk.byteLength; };
  setToStringTag(ByteLengthQueuingStrategy, "ByteLengthQueuingStrategy");

  class CountQueuingStrategy {
    #hwm;
    constructor(init) {
      if (init === null || typeof init !== "object" || init.highWaterMark === undefined) {
        throw new TypeError("CountQueuingStrategy requires a highWaterMark");
      }
      this.#hwm = Number(init.highWaterMark);
    }
    get highWaterMark() {
      if (!(#hwm in this)) throw illegalInvocation();
      return this.#hwm;
    }
    get size() {
      if (!(#hwm in this)) throw illegalInvocation();
      return countSize;
    }
  }
  const countSize = function size() { return 1; };
  setToStringTag(CountQueuingStrategy, "CountQueuingStrategy");

  // ---------------------------------------------------------------- Cloudflare byte transforms

  function toByteChunk(chunk) {
    if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
    if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    throw new TypeError("This TransformStream is being used as a byte stream, but received an object of " +
      "non-ArrayBuffer/ArrayBufferView type on its writable side.");
  }

  class IdentityTransformStream extends TransformStream {
    constructor(options = undefined) {
      super({
        transform(chunk, controller) {
          const bytes = toByteChunk(chunk);
          if (bytes.byteLength > 0) controller.enqueue(bytes);
        },
      }, undefined, { highWaterMark: Number(options?.highWaterMark ?? 0) });
    }
  }
  setToStringTag(IdentityTransformStream, "IdentityTransformStream");

  class FixedLengthStream extends TransformStream {
    constructor(expectedLength, options = undefined) {
      const expected = Number(expectedLength);
      if (!Number.isInteger(expected) || expected < 0 || expected > Number.MAX_SAFE_INTEGER) {
        throw new TypeError("FixedLengthStream requires a non-negative integer expected length");
      }
      let seen = 0;
      super({
        transform(chunk, controller) {
          const bytes = toByteChunk(chunk);
          seen += bytes.byteLength;
          if (seen > expected) throw new TypeError("Attempt to write too many bytes through a FixedLengthStream.");
          if (bytes.byteLength > 0) controller.enqueue(bytes);
        },
        flush() {
          if (seen < expected) throw new TypeError("FixedLengthStream did not see all expected bytes before close().");
        },
      }, undefined, { highWaterMark: Number(options?.highWaterMark ?? 0) });
      knownLengths.set(this.readable, expected);
    }
  }
  setToStringTag(FixedLengthStream, "FixedLengthStream");

  class TextEncoderStream {
    #transform;
    constructor() {
      let pendingHigh = "";
      this.#transform = new TransformStream({
        transform(chunk, controller) {
          let text = pendingHigh + String(chunk);
          pendingHigh = "";
          // A lone high surrogate at the end may pair with the next chunk's first code unit.
          const last = text.charCodeAt(text.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) {
            pendingHigh = text[text.length - 1];
            text = text.slice(0, -1);
          }
          if (text !== "") controller.enqueue(internals.utf8Encode(text));
        },
        flush(controller) {
          if (pendingHigh !== "") controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
        },
      });
    }
    get encoding() {
      if (!(#transform in this)) throw illegalInvocation();
      return "utf-8";
    }
    get readable() {
      if (!(#transform in this)) throw illegalInvocation();
      return this.#transform.readable;
    }
    get writable() {
      if (!(#transform in this)) throw illegalInvocation();
      return this.#transform.writable;
    }
  }
  setToStringTag(TextEncoderStream, "TextEncoderStream");

  class TextDecoderStream {
    #decoder;
    #transform;
    constructor(label = "utf-8", options = undefined) {
      const decoder = new internals.TextDecoder(label, options);
      this.#decoder = decoder;
      this.#transform = new TransformStream({
        transform(chunk, controller) {
          if (!internals.isBufferSource(chunk)) {
            throw new TypeError("TextDecoderStream requires ArrayBuffer or ArrayBufferView chunks");
          }
          const text = decoder.decode(chunk, { stream: true });
          if (text !== "") controller.enqueue(text);
        },
        flush(controller) {
          const text = decoder.decode();
          if (text !== "") controller.enqueue(text);
        },
      });
    }
    get encoding() {
      if (!(#decoder in this)) throw illegalInvocation();
      return this.#decoder.encoding;
    }
    get fatal() {
      if (!(#decoder in this)) throw illegalInvocation();
      return this.#decoder.fatal;
    }
    get ignoreBOM() {
      if (!(#decoder in this)) throw illegalInvocation();
      return this.#decoder.ignoreBOM;
    }
    get readable() {
      if (!(#decoder in this)) throw illegalInvocation();
      return this.#transform.readable;
    }
    get writable() {
      if (!(#decoder in this)) throw illegalInvocation();
      return this.#transform.writable;
    }
  }
  setToStringTag(TextDecoderStream, "TextDecoderStream");

  // ---------------------------------------------------------------- platform helpers

  internals.isReadableStream = (v) => {
    try {
      readableState(v);
      return true;
    } catch {
      return false;
    }
  };
  internals.streamIsDisturbed = (rs) => readableState(rs).disturbed;
  internals.streamIsLocked = (rs) => readableState(rs).reader !== null;
  internals.teeStream = (rs) => teeReadable(readableState(rs));
  // Streams whose total length is known up front (bodies of known bytes, FixedLengthStream's
  // readable side, R2 object bodies): R2 put() accepts only these, as on Cloudflare.
  const knownLengths = new WeakMap();
  internals.setStreamLength = (rs, length) => knownLengths.set(rs, length);
  internals.streamLength = (rs) => knownLengths.get(rs);
  internals.readableFromBytes = (bytes) => {
    const rs = createReadableStream({
      start(controller) {
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        controller.close();
      },
    }, 0);
    knownLengths.set(rs, bytes.byteLength);
    return rs;
  };
  internals.createReadableStream = createReadableStream;

  // Reads a byte stream to its end; chunks of any other type fail the read, as in workerd.
  internals.readAllBytes = async (rs) => {
    const s = readableState(rs);
    if (s.reader !== null) throw new TypeError("This ReadableStream is currently locked to a reader.");
    const r = acquireReader(s);
    const chunks = [];
    let total = 0;
    try {
      for (;;) {
        const { value, done } = await readerReadPromise(r);
        if (done) break;
        let bytes;
        if (value instanceof Uint8Array) bytes = value;
        else if (ArrayBuffer.isView(value)) bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        else if (value instanceof ArrayBuffer) bytes = new Uint8Array(value);
        else {
          const error = new TypeError("This ReadableStream did not return bytes.");
          readableStreamCancel(s, error);
          throw error;
        }
        chunks.push(bytes.slice());
        total += bytes.byteLength;
      }
    } finally {
      if (r.stream !== null) releaseReader(r);
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  };

  internals.registerInspector(ReadableStream, (rs) => {
    const s = readableState(rs);
    return { props: [["locked", s.reader !== null], ["state", s.state]] };
  });
  internals.registerInspector(WritableStream, (ws) => {
    const s = writableState(ws);
    return { props: [["locked", s.writer !== null], ["state", s.state]] };
  });

  for (const [name, value] of Object.entries({
    ReadableStream, ReadableStreamDefaultReader, ReadableStreamDefaultController,
    WritableStream, WritableStreamDefaultWriter, WritableStreamDefaultController,
    TransformStream, TransformStreamDefaultController, ByteLengthQueuingStrategy, CountQueuingStrategy,
    IdentityTransformStream, FixedLengthStream, TextEncoderStream, TextDecoderStream,
  })) {
    defineGlobal(name, value);
  }
})
