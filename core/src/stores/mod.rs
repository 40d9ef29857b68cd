//! Embedded default backends for the bindings, persisted under a state directory so data
//! survives restarts (as wrangler's local state does).
mod kv;
mod r2;
mod sqlite;

pub use kv::SqliteKv;
pub use r2::FsR2;
