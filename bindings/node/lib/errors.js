'use strict'
// Failed invocations. Each kind of failure has its own class; all extend WorkerError, which
// carries what the engine reported (kind, the JS error's name, stack and location, the logs).

class WorkerError extends Error {
  constructor(info = {}, logs = []) {
    super(info.message ?? 'worker failed')
    this.name = new.target.name
    /** 'exception' | 'script' | 'scriptNotFound' | 'badHandler' | 'exceededCpu' | ... */
    this.kind = info.kind ?? 'internalError'
    /** The JS error's name inside the worker (TypeError, ...), or '' when not a JS error. */
    this.jsName = info.name ?? ''
    this.jsStack = info.stack ?? ''
    /** file:line:col when known. */
    this.location = info.location ?? null
    this.logs = logs
  }
}

/** The worker threw (or its promise rejected) and nothing caught it. */
class JSException extends WorkerError {}
/** The worker's code failed to compile or to evaluate at startup. */
class ScriptError extends WorkerError {}
/** The source loader could not supply the worker. */
class ScriptNotFoundError extends WorkerError {}
/** The handler is missing or returned something that is not a Response. */
class BadHandlerError extends WorkerError {}
/** A limit was exceeded (CPU, memory, wall time, response size); `kind` says which. */
class LimitError extends WorkerError {}
/** The engine is closed or broke down. */
class InternalError extends WorkerError {}

const BY_KIND = {
  exception: JSException,
  script: ScriptError,
  scriptNotFound: ScriptNotFoundError,
  badHandler: BadHandlerError,
  exceededCpu: LimitError,
  exceededMemory: LimitError,
  exceededWallTime: LimitError,
  exceededResponseSize: LimitError,
}

function workerError(info, logs) {
  const Class = BY_KIND[info.kind] ?? InternalError
  return new Class(info, logs)
}

module.exports = {
  WorkerError,
  JSException,
  ScriptError,
  ScriptNotFoundError,
  BadHandlerError,
  LimitError,
  InternalError,
  workerError,
}
