//! The embedded KV store: one SQLite file per namespace.
use super::sqlite::Db;
use crate::api::host::HostError;
use crate::api::kv::{KvEntry, KvKey, KvList, KvListOptions, KvPutOptions, KvStore};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    metadata TEXT,
    expiration INTEGER
) WITHOUT ROWID;";

/// A KV namespace kept in a SQLite file. Keys sort by their UTF-8 bytes (SQLite's BINARY
/// collation), as on Cloudflare; expired keys are invisible (a later put overwrites them).
///
/// Reads are served from an in-memory copy of recently read keys when possible: a hit answers
/// without a trip to the blocking pool, which costs more than the SQLite read itself. Writes
/// through this store keep the copy exact; a file shared with another process would be seen
/// with a delay, like Cloudflare's edge caches (so one process should own a namespace file).
#[derive(Clone)]
pub struct SqliteKv {
    db: Db,
    cache: Arc<Mutex<ReadCache>>,
}

impl SqliteKv {
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteKv, String> {
        Ok(SqliteKv {
            db: Db::open(path.as_ref(), SCHEMA)?,
            cache: Arc::default(),
        })
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, ReadCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a write of `key`. The cached copy is dropped before and reads in flight are
    /// invalidated again after, since a read may have seen the row before the write landed.
    async fn write(
        &self,
        key: &str,
        f: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<(), HostError> {
        self.cache().invalidate(key);
        let result = self.db.run(f).await;
        self.cache().invalidate(key);
        result
    }
}

/// Values above this size are read from SQLite every time.
const CACHE_MAX_VALUE: usize = 64 * 1024;
/// When the cached values exceed this, the cache starts over.
const CACHE_BUDGET: usize = 16 * 1024 * 1024;

/// Recently read keys (a missing key is cached as None). `generation` counts writes, so a read
/// that raced with a write never caches what it read before the write landed.
#[derive(Default)]
struct ReadCache {
    entries: HashMap<String, Option<KvEntry>>,
    bytes: usize,
    generation: u64,
}

impl ReadCache {
    /// The cached answer for `key`, if any; an entry that has expired since is a miss.
    fn get(&self, key: &str, now: i64) -> Option<Option<KvEntry>> {
        match self.entries.get(key)? {
            Some(e) if e.expiration.is_some_and(|x| x as i64 <= now) => None,
            hit => Some(hit.clone()),
        }
    }

    fn insert(&mut self, key: String, entry: Option<KvEntry>, generation: u64) {
        if generation != self.generation
            || entry
                .as_ref()
                .is_some_and(|e| e.value.len() > CACHE_MAX_VALUE)
        {
            return;
        }
        let size = key.len() + entry.as_ref().map_or(0, |e| e.value.len() + 64);
        if self.bytes + size > CACHE_BUDGET {
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += size;
        self.entries.insert(key, entry);
    }

    /// Forgets `key` and invalidates reads in flight; called before every write.
    fn invalidate(&mut self, key: &str) {
        self.generation += 1;
        if let Some(e) = self.entries.remove(key) {
            self.bytes -= key.len() + e.map_or(0, |e| e.value.len() + 64);
        }
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The smallest string above every string that starts with `prefix` (None: no bound). UTF-8
/// byte order is code point order, so bumping the last character bounds the range.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[async_trait]
impl KvStore for SqliteKv {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, HostError> {
        let generation = {
            let cache = self.cache();
            if let Some(hit) = cache.get(key, now()) {
                return Ok(hit);
            }
            cache.generation
        };
        let owned = key.to_string();
        let entry = self
            .db
            .run(move |c| {
                c.query_row(
                    "SELECT value, metadata, expiration FROM kv
                     WHERE key = ?1 AND (expiration IS NULL OR expiration > ?2)",
                    params![owned, now()],
                    |r| {
                        Ok(KvEntry {
                            value: r.get(0)?,
                            metadata: r.get(1)?,
                            expiration: r.get::<_, Option<i64>>(2)?.map(|x| x as u64),
                        })
                    },
                )
                .optional()
            })
            .await?;
        self.cache()
            .insert(key.to_string(), entry.clone(), generation);
        Ok(entry)
    }

    async fn put(&self, key: &str, value: Vec<u8>, options: KvPutOptions) -> Result<(), HostError> {
        let owned = key.to_string();
        self.write(key, move |c| {
            c.execute(
                "INSERT OR REPLACE INTO kv (key, value, metadata, expiration)
                     VALUES (?1, ?2, ?3, ?4)",
                params![
                    owned,
                    value,
                    options.metadata,
                    options.expiration.map(|x| x as i64)
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), HostError> {
        let owned = key.to_string();
        self.write(key, move |c| {
            c.execute("DELETE FROM kv WHERE key = ?1", [owned])
                .map(drop)
        })
        .await
    }

    async fn list(&self, options: KvListOptions) -> Result<KvList, HostError> {
        self.db
            .run(move |c| {
                let limit = options.limit.clamp(1, 1000);
                let after = options.cursor.as_deref().and_then(decode_cursor);
                let end = prefix_end(&options.prefix);
                let mut stmt = c.prepare_cached(
                    "SELECT key, metadata, expiration FROM kv
                     WHERE key >= ?1 AND (?2 IS NULL OR key < ?2) AND (?3 IS NULL OR key > ?3)
                       AND (expiration IS NULL OR expiration > ?5)
                     ORDER BY key LIMIT ?4",
                )?;
                let mut keys = stmt
                    .query_map(
                        params![options.prefix, end, after, limit as i64 + 1, now()],
                        |r| {
                            Ok(KvKey {
                                name: r.get(0)?,
                                metadata: r.get(1)?,
                                expiration: r.get::<_, Option<i64>>(2)?.map(|x| x as u64),
                            })
                        },
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let list_complete = keys.len() <= limit;
                keys.truncate(limit);
                let cursor = (!list_complete)
                    .then(|| keys.last().map(|k| encode_cursor(&k.name)))
                    .flatten();
                Ok(KvList {
                    keys,
                    list_complete,
                    cursor,
                })
            })
            .await
    }
}

/// Cursors are opaque to workers; ours is the hex of the last key listed.
fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}
