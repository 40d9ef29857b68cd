//! Embedded default backends for the bindings, persisted under a state directory so data
//! survives restarts (as wrangler's local state does).
mod cache;
mod kv;
mod sqlite;

pub use cache::{DEFAULT_CACHE_BYTES, MemoryCache};
pub use kv::SqliteKv;
