(function (ops, internals) {
  "use strict";

  const { defineGlobal, illegalInvocation, setToStringTag, DOMException, illegalConstructor } = internals;

  let eventState;

  class Event {
    #type;
    #bubbles;
    #cancelable;
    #composed;
    #target = null;
    #currentTarget = null;
    #phase = 0;
    #canceled = false;
    #stopPropagation = false;
    #stopImmediate = false;
    #inPassiveListener = false;
    #dispatching = false;
    #timeStamp;

    constructor(type, init = undefined) {
      if (arguments.length === 0) {
        throw new TypeError("Failed to construct 'Event': 1 argument required, but only 0 present.");
      }
      if (init != null && typeof init !== "object") throw new TypeError("The event init must be an object");
      this.#type = String(type);
      this.#bubbles = Boolean(init?.bubbles);
      this.#cancelable = Boolean(init?.cancelable);
      this.#composed = Boolean(init?.composed);
      this.#timeStamp = ops.op_now();
    }

    static {
      eventState = {
        is: (e) => e !== null && typeof e === "object" && #type in e,
        beginDispatch(e, target) {
          e.#dispatching = true;
          e.#target = target;
          e.#currentTarget = target;
          e.#phase = 2;
        },
        endDispatch(e) {
          e.#dispatching = false;
          e.#currentTarget = null;
          e.#phase = 0;
          e.#stopPropagation = false;
          e.#stopImmediate = false;
        },
        isDispatching: (e) => e.#dispatching,
        immediateStopped: (e) => e.#stopImmediate,
        setPassive(e, passive) { e.#inPassiveListener = passive; },
      };
    }

    #check() {
      if (!(#type in this)) throw illegalInvocation();
    }
    get type() { this.#check(); return this.#type; }
    get target() { this.#check(); return this.#target; }
    get srcElement() { this.#check(); return this.#target; }
    get currentTarget() { this.#check(); return this.#currentTarget; }
    get eventPhase() { this.#check(); return this.#phase; }
    get bubbles() { this.#check(); return this.#bubbles; }
    get cancelable() { this.#check(); return this.#cancelable; }
    get composed() { this.#check(); return this.#composed; }
    get defaultPrevented() { this.#check(); return this.#canceled; }
    get returnValue() { this.#check(); return !this.#canceled; }
    set returnValue(value) {
      this.#check();
      if (!value) this.preventDefault();
    }
    get cancelBubble() { this.#check(); return this.#stopPropagation; }
    set cancelBubble(value) {
      this.#check();
      if (value) this.#stopPropagation = true;
    }
    get isTrusted() { this.#check(); return false; }
    get timeStamp() { this.#check(); return this.#timeStamp; }
    composedPath() {
      this.#check();
      return this.#dispatching && this.#currentTarget !== null ? [this.#currentTarget] : [];
    }
    stopPropagation() { this.#check(); this.#stopPropagation = true; }
    stopImmediatePropagation() {
      this.#check();
      this.#stopPropagation = true;
      this.#stopImmediate = true;
    }
    preventDefault() {
      this.#check();
      if (this.#cancelable && !this.#inPassiveListener) this.#canceled = true;
    }
  }
  const phases = { NONE: 0, CAPTURING_PHASE: 1, AT_TARGET: 2, BUBBLING_PHASE: 3 };
  for (const [name, value] of Object.entries(phases)) {
    const desc = { value, enumerable: true, writable: false, configurable: false };
    Object.defineProperty(Event, name, desc);
    Object.defineProperty(Event.prototype, name, desc);
  }
  setToStringTag(Event, "Event");

  // Listener lists are keyed by target in a WeakMap rather than a private field so that the
  // global object, which no constructor ever runs on, can be an EventTarget too. The global's
  // list is kept apart: a context booted from the snapshot gets a new global proxy, so the
  // identity the WeakMap saw while the snapshot was built does not survive.
  const listenerMaps = new WeakMap();
  const globalListeners = new Map();

  function listenersOf(target) {
    return target === globalThis ? globalListeners : listenerMaps.get(target);
  }

  function targetOf(thisValue) {
    const target = thisValue ?? globalThis;
    if (listenersOf(target) === undefined) throw illegalInvocation();
    return target;
  }

  function flattenOptions(options) {
    if (typeof options === "boolean") return { capture: options, once: false, passive: false, signal: undefined };
    if (options == null) return { capture: false, once: false, passive: false, signal: undefined };
    if (typeof options !== "object") return { capture: Boolean(options), once: false, passive: false, signal: undefined };
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError("The 'signal' option must be an AbortSignal");
    }
    return { capture: Boolean(options.capture), once: Boolean(options.once), passive: Boolean(options.passive), signal };
  }

  function validCallback(callback) {
    if (callback === null || callback === undefined) return false;
    if (typeof callback !== "function" && typeof callback !== "object") {
      throw new TypeError("The event listener must be a function or an object with a handleEvent method");
    }
    return true;
  }

  class EventTarget {
    constructor() {
      listenerMaps.set(this, new Map());
    }

    addEventListener(type, callback, options = undefined) {
      const target = targetOf(this);
      if (arguments.length < 2) {
        throw new TypeError("Failed to execute 'addEventListener': 2 arguments required.");
      }
      const opts = flattenOptions(options);
      if (!validCallback(callback)) return;
      if (opts.signal?.aborted) return;
      type = String(type);
      const map = listenersOf(target);
      let list = map.get(type);
      if (!list) map.set(type, (list = []));
      if (list.some((l) => l.callback === callback && l.capture === opts.capture)) return;
      const listener = { callback, capture: opts.capture, once: opts.once, passive: opts.passive, removed: false };
      list.push(listener);
      opts.signal?.addEventListener("abort", () => removeListener(target, type, listener));
    }

    removeEventListener(type, callback, options = undefined) {
      const target = targetOf(this);
      const capture = typeof options === "object" && options !== null ? Boolean(options.capture) : Boolean(options);
      if (!validCallback(callback)) return;
      const list = listenersOf(target).get(String(type));
      const listener = list?.find((l) => l.callback === callback && l.capture === capture);
      if (listener) removeListener(target, String(type), listener);
    }

    dispatchEvent(event) {
      const target = targetOf(this);
      if (!eventState.is(event)) throw new TypeError("The event to dispatch must be an Event");
      if (eventState.isDispatching(event)) {
        throw new DOMException("The event is already being dispatched.", "InvalidStateError");
      }
      dispatch(target, event);
      return !event.defaultPrevented;
    }
  }
  setToStringTag(EventTarget, "EventTarget");

  function removeListener(target, type, listener) {
    listener.removed = true;
    const map = listenersOf(target);
    const list = map.get(type);
    if (!list) return;
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) map.delete(type);
  }

  // Listener exceptions go to `onError`: reported as uncaught by default, while the engine's
  // own dispatches (fetch events) fail the invocation with them instead.
  function dispatch(target, event, onError = reportError) {
    const type = event.type;
    eventState.beginDispatch(event, target);
    try {
      const list = listenersOf(target).get(type);
      if (!list) return;
      // Capturing listeners run before the others at the target, per the DOM standard.
      const snapshot = [...list.filter((l) => l.capture), ...list.filter((l) => !l.capture)];
      for (const listener of snapshot) {
        if (listener.removed) continue;
        if (listener.once) removeListener(target, type, listener);
        eventState.setPassive(event, listener.passive);
        try {
          const cb = listener.callback;
          if (typeof cb === "function") {
            cb.call(target, event);
          } else {
            const handleEvent = cb.handleEvent;
            if (typeof handleEvent !== "function") throw new TypeError("The listener's handleEvent is not a function");
            handleEvent.call(cb, event);
          }
        } catch (err) {
          onError(err);
        } finally {
          eventState.setPassive(event, false);
        }
        if (eventState.immediateStopped(event)) break;
      }
    } finally {
      eventState.endDispatch(event);
    }
  }

  internals.hasListeners = (target, type) => (listenersOf(target)?.get(type)?.length ?? 0) > 0;
  internals.isEvent = (value) => eventState.is(value);

  // The global scope is an EventTarget (addEventListener("fetch", ...) in service-worker syntax).
  class WorkerGlobalScope extends EventTarget {
    constructor() {
      throw new TypeError("Illegal constructor");
    }
  }
  setToStringTag(WorkerGlobalScope, "ServiceWorkerGlobalScope");
  Object.setPrototypeOf(globalThis, WorkerGlobalScope.prototype);
  defineGlobal("WorkerGlobalScope", WorkerGlobalScope);
  for (const name of ["addEventListener", "removeEventListener", "dispatchEvent"]) {
    defineGlobal(name, EventTarget.prototype[name]);
  }

  class CustomEvent extends Event {
    #detail;
    constructor(type, init = undefined) {
      super(type, init);
      this.#detail = init?.detail ?? null;
    }
    get detail() {
      if (!(#detail in this)) throw illegalInvocation();
      return this.#detail;
    }
  }
  setToStringTag(CustomEvent, "CustomEvent");

  let extendableLifetime;
  class ExtendableEvent extends Event {
    #promises = [];
    static {
      extendableLifetime = (e) => e.#promises;
    }
    waitUntil(promise) {
      if (!(#promises in this)) throw illegalInvocation();
      this.#promises.push(Promise.resolve(promise));
    }
  }
  setToStringTag(ExtendableEvent, "ExtendableEvent");
  internals.extendableLifetime = extendableLifetime;

  class PromiseRejectionEvent extends Event {
    #promise;
    #reason;
    constructor(type, init = undefined) {
      super(type, init);
      this.#promise = init?.promise;
      this.#reason = init?.reason;
    }
    get promise() {
      if (!(#promise in this)) throw illegalInvocation();
      return this.#promise;
    }
    get reason() {
      if (!(#promise in this)) throw illegalInvocation();
      return this.#reason;
    }
  }
  setToStringTag(PromiseRejectionEvent, "PromiseRejectionEvent");

  class ErrorEvent extends Event {
    #message;
    #filename;
    #lineno;
    #colno;
    #error;
    constructor(type, init = undefined) {
      super(type, init);
      this.#message = String(init?.message ?? "");
      this.#filename = String(init?.filename ?? "");
      this.#lineno = Number(init?.lineno ?? 0) >>> 0;
      this.#colno = Number(init?.colno ?? 0) >>> 0;
      this.#error = init?.error;
    }
    #check() { if (!(#message in this)) throw illegalInvocation(); }
    get message() { this.#check(); return this.#message; }
    get filename() { this.#check(); return this.#filename; }
    get lineno() { this.#check(); return this.#lineno; }
    get colno() { this.#check(); return this.#colno; }
    get error() { this.#check(); return this.#error; }
  }
  setToStringTag(ErrorEvent, "ErrorEvent");

  class MessageEvent extends Event {
    #data;
    #origin;
    #lastEventId;
    #source;
    #ports;
    constructor(type, init = undefined) {
      super(type, init);
      this.#data = init?.data ?? null;
      this.#origin = String(init?.origin ?? "");
      this.#lastEventId = String(init?.lastEventId ?? "");
      this.#source = init?.source ?? null;
      this.#ports = Object.freeze([...(init?.ports ?? [])]);
    }
    #check() { if (!(#data in this)) throw illegalInvocation(); }
    get data() { this.#check(); return this.#data; }
    get origin() { this.#check(); return this.#origin; }
    get lastEventId() { this.#check(); return this.#lastEventId; }
    get source() { this.#check(); return this.#source; }
    get ports() { this.#check(); return this.#ports; }
  }
  setToStringTag(MessageEvent, "MessageEvent");

  class CloseEvent extends Event {
    #code;
    #reason;
    #wasClean;
    constructor(type, init = undefined) {
      super(type, init);
      this.#code = Number(init?.code ?? 0) & 0xffff;
      this.#reason = String(init?.reason ?? "");
      this.#wasClean = Boolean(init?.wasClean);
    }
    #check() { if (!(#code in this)) throw illegalInvocation(); }
    get code() { this.#check(); return this.#code; }
    get reason() { this.#check(); return this.#reason; }
    get wasClean() { this.#check(); return this.#wasClean; }
  }
  setToStringTag(CloseEvent, "CloseEvent");

  // An uncaught error from a listener or callback: give `error` listeners on the global scope a
  // chance to handle it, as reportError() does in browsers, and log it otherwise.
  function reportError(error) {
    let handled = false;
    if (internals.hasListeners(globalThis, "error")) {
      const event = new ErrorEvent("error", {
        cancelable: true,
        error,
        message: error instanceof Error ? error.message : String(error),
      });
      // An error listener that throws is logged, not reported again, so it cannot recurse.
      dispatch(globalThis, event, (err) => internals.logUncaught("Uncaught ", err));
      handled = event.defaultPrevented;
    }
    if (!handled) internals.logUncaught("Uncaught ", error);
  }
  internals.reportError = reportError;

  function describeError(error) {
    if (error !== null && typeof error === "object" && typeof error.stack === "string" && error.stack) {
      return error.stack;
    }
    try {
      return internals.inspect ? internals.inspect(error) : String(error);
    } catch {
      return "[unprintable value]";
    }
  }
  internals.describeError = describeError;
  internals.logUncaught = (prefix, error) => ops.op_log("error", prefix + describeError(error));

  defineGlobal("reportError", function reportErrorGlobal(error) {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'reportError': 1 argument required.");
    reportError(error);
  });

  // AbortSignal

  let signalState;
  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #dependents = [];
    #onabort = null;

    constructor(key) {
      if (key !== illegalConstructor) throw new TypeError("Illegal constructor");
      super();
    }

    static {
      signalState = {
        is: (s) => s !== null && typeof s === "object" && #aborted in s,
        abort(signal, reason) {
          if (signal.#aborted) return;
          signal.#aborted = true;
          signal.#reason = reason === undefined
            ? new DOMException("The operation was aborted.", "AbortError")
            : reason;
          const dependents = signal.#dependents;
          signal.#dependents = [];
          dispatch(signal, new Event("abort"));
          for (const dependent of dependents) signalState.abort(dependent, signal.#reason);
        },
        follow(dependent, source) {
          if (source.#aborted) signalState.abort(dependent, source.#reason);
          else source.#dependents.push(dependent);
        },
      };
    }

    #check() { if (!(#aborted in this)) throw illegalInvocation(); }
    get aborted() { this.#check(); return this.#aborted; }
    get reason() { this.#check(); return this.#reason; }
    get onabort() { this.#check(); return this.#onabort; }
    set onabort(handler) {
      this.#check();
      if (this.#onabort) this.removeEventListener("abort", this.#onabort);
      this.#onabort = typeof handler === "function" ? handler : null;
      if (this.#onabort) this.addEventListener("abort", this.#onabort);
    }
    throwIfAborted() {
      this.#check();
      if (this.#aborted) throw this.#reason;
    }

    static abort(reason = undefined) {
      const signal = new AbortSignal(illegalConstructor);
      signalState.abort(signal, reason);
      return signal;
    }

    static timeout(ms) {
      const delay = Number(ms);
      if (!Number.isFinite(delay) || delay < 0 || delay > Number.MAX_SAFE_INTEGER) {
        throw new TypeError("The 'milliseconds' argument must be a non-negative finite number");
      }
      const signal = new AbortSignal(illegalConstructor);
      internals.setTimer(() => {
        signalState.abort(signal, new DOMException("The operation was aborted due to timeout", "TimeoutError"));
      }, delay);
      return signal;
    }

    static any(signals) {
      const list = [...signals];
      for (const s of list) {
        if (!signalState.is(s)) throw new TypeError("AbortSignal.any() requires an iterable of AbortSignals");
      }
      const result = new AbortSignal(illegalConstructor);
      for (const s of list) {
        signalState.follow(result, s);
        if (result.aborted) break;
      }
      return result;
    }
  }
  setToStringTag(AbortSignal, "AbortSignal");

  class AbortController {
    #signal = new AbortSignal(illegalConstructor);
    get signal() {
      if (!(#signal in this)) throw illegalInvocation();
      return this.#signal;
    }
    abort(reason = undefined) {
      if (!(#signal in this)) throw illegalInvocation();
      signalState.abort(this.#signal, reason);
    }
  }
  setToStringTag(AbortController, "AbortController");

  internals.Event = Event;
  internals.ExtendableEvent = ExtendableEvent;
  internals.PromiseRejectionEvent = PromiseRejectionEvent;
  internals.dispatchEventUnchecked = dispatch;
  internals.isAbortSignal = signalState.is;
  internals.newAbortSignal = () => new AbortSignal(illegalConstructor);
  internals.abortSignal = signalState.abort;

  for (const [name, value] of Object.entries({
    Event, EventTarget, CustomEvent, ExtendableEvent, PromiseRejectionEvent, ErrorEvent,
    MessageEvent, CloseEvent, AbortSignal, AbortController,
  })) {
    defineGlobal(name, value);
  }
})
