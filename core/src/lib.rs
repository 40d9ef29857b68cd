//! worker-core: libworker's engine. V8 isolates on executor threads, Cloudflare-compatible
//! Web APIs, and the public Rust API every other front end (C ABI, CLI, language packages) uses.
mod api;
pub mod engine;
mod js;
pub mod project;
pub mod stores;
pub mod v8;

pub use api::assets;
pub use api::cache;
pub use api::d1;
pub use api::host::HostError;
pub use api::kv;
pub use api::queue;
pub use api::{body, r2};

pub use engine::{
    Engine, EngineConfig, Env, ErrorKind, ExecuteResult, FunctionResult, LogEntry, LogLevel,
    Module, ModuleType, SourceLoader, WorkerError, WorkerRequest, WorkerSource,
};
