//! Embedded default backends for the bindings, persisted under a state directory so data
//! survives restarts (as wrangler's local state does).
mod assets;
mod cache;
mod d1;
mod kv;
mod queue;
mod r2;
mod sqlite;

pub use assets::{AssetsOptions, DirAssets, HtmlHandling, NotFoundHandling};
pub use cache::{DEFAULT_CACHE_BYTES, MemoryCache};
pub use d1::SqliteD1;
pub use kv::SqliteKv;
pub use queue::{BrokerEvent, QueueBroker, QueueConsumer, SqliteQueue};
pub use r2::FsR2;
