// ESM entry point: the same objects as the CommonJS one (one native addon per process).
import api from './index.js'

export const {
  Engine,
  Env,
  Project,
  QueueBroker,
  WorkerResponse,
  readConfig,
  compareKeys,
  SqliteKv,
  FsR2,
  SqliteD1,
  SqliteQueue,
  DirAssets,
  MemoryCache,
  WorkerError,
  JSException,
  ScriptError,
  ScriptNotFoundError,
  BadHandlerError,
  LimitError,
  InternalError,
} = api
export default api
