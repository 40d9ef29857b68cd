(function (ops, internals) {
  "use strict";

  const { defineGlobal } = internals;

  // Browser-style timer ids are small positive integers handed out in order; the native side
  // has its own ids, and an interval gets a fresh native id every time it re-arms.
  const MAX_DELAY = 2 ** 31 - 1;
  let nextId = 1;
  const timersById = new Map();
  const timersByNative = new Map();

  function normalizeDelay(delay) {
    const n = Number(delay);
    if (!(n > 0)) return 0;
    return n > MAX_DELAY ? MAX_DELAY : n;
  }

  function arm(timer) {
    timer.nativeId = ops.op_timer_start(timer.delay);
    timersByNative.set(timer.nativeId, timer);
  }

  function schedule(callback, delay, args, repeat) {
    if (typeof callback !== "function") {
      throw new TypeError("The callback provided as parameter 1 is not a function.");
    }
    const timer = { id: nextId++, callback, args, repeat, delay: normalizeDelay(delay), nativeId: 0 };
    timersById.set(timer.id, timer);
    arm(timer);
    return timer.id;
  }

  function clear(id) {
    const timer = timersById.get(Number(id));
    if (!timer) return;
    timersById.delete(timer.id);
    timersByNative.delete(timer.nativeId);
    ops.op_timer_cancel(timer.nativeId);
  }

  internals.fireTimer = function fireTimer(nativeId) {
    const timer = timersByNative.get(nativeId);
    if (!timer) return;
    timersByNative.delete(nativeId);
    if (!timer.repeat) timersById.delete(timer.id);
    try {
      timer.callback.apply(globalThis, timer.args);
    } catch (err) {
      internals.reportError(err);
    }
    // The callback may have cleared its own interval.
    if (timer.repeat && timersById.get(timer.id) === timer) arm(timer);
  };

  // For platform features (AbortSignal.timeout, scheduler.wait): no id is exposed to user code.
  internals.setTimer = (callback, delay) => {
    const id = schedule(callback, delay, [], false);
    return () => clear(id);
  };

  defineGlobal("setTimeout", function setTimeout(callback, delay = 0, ...args) {
    return schedule(callback, delay, args, false);
  });
  defineGlobal("setInterval", function setInterval(callback, delay = 0, ...args) {
    return schedule(callback, delay, args, true);
  });
  defineGlobal("clearTimeout", function clearTimeout(id = undefined) {
    clear(id);
  });
  defineGlobal("clearInterval", function clearInterval(id = undefined) {
    clear(id);
  });

  defineGlobal("queueMicrotask", function queueMicrotask(callback) {
    if (typeof callback !== "function") {
      throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
    }
    // Errors thrown by the callback are uncaught exceptions, not promise rejections.
    Promise.resolve().then(() => {
      try {
        callback();
      } catch (err) {
        internals.reportError(err);
      }
    });
  });

  class Scheduler {
    constructor(key) {
      if (key !== internals.illegalConstructor) throw new TypeError("Illegal constructor");
    }
    wait(delay, options = undefined) {
      if (this !== scheduler) throw internals.illegalInvocation();
      const signal = options?.signal;
      if (signal !== undefined && !internals.isAbortSignal(signal)) {
        return Promise.reject(new TypeError("The 'signal' option must be an AbortSignal"));
      }
      return new Promise((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const onAbort = () => {
          cancel();
          reject(signal.reason);
        };
        const cancel = internals.setTimer(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, delay);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
  }
  internals.setToStringTag(Scheduler, "Scheduler");
  const scheduler = new Scheduler(internals.illegalConstructor);
  defineGlobal("scheduler", scheduler);
})
