//! The embedded Cache API store: in memory, bounded by a byte budget with least-recently-used
//! eviction, expired entries dropped. It is the engine's default, so `caches.default` works
//! without any setup; Cloudflare's cache is ephemeral too (any entry may be evicted at any time),
//! so nothing is persisted.
use crate::api::cache::{CacheStore, CachedResponse, now_ms};
use crate::api::host::HostError;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// The byte budget of the engine's default cache (shared by every worker of the engine).
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Fixed cost counted per entry on top of its URL, headers and body, so a flood of empty
/// responses is bounded too.
const ENTRY_OVERHEAD: usize = 128;

/// (scope, cache name — `None` for `caches.default`, URL).
type Key = (String, Option<String>, String);

struct Slot {
    response: CachedResponse,
    size: usize,
    /// Position in the recency order (`Lru::order`).
    tick: u64,
}

#[derive(Default)]
struct Lru {
    entries: HashMap<Key, Slot>,
    /// tick -> key, oldest first.
    order: BTreeMap<u64, Key>,
    next_tick: u64,
    bytes: usize,
}

impl Lru {
    fn remove(&mut self, key: &Key) -> Option<Slot> {
        let slot = self.entries.remove(key)?;
        self.order.remove(&slot.tick);
        self.bytes -= slot.size;
        Some(slot)
    }

    fn touch(&mut self, key: &Key) {
        let tick = self.next_tick;
        if let Some(slot) = self.entries.get_mut(key) {
            self.next_tick += 1;
            self.order.remove(&slot.tick);
            slot.tick = tick;
            self.order.insert(tick, key.clone());
        }
    }

    /// Drops expired entries, then the least recently used, until `bytes <= budget`.
    fn shrink_to(&mut self, budget: usize, now: u64) {
        if self.bytes <= budget {
            return;
        }
        let expired: Vec<Key> = self
            .entries
            .iter()
            .filter(|(_, s)| s.response.expires_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &expired {
            self.remove(k);
        }
        while self.bytes > budget {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(slot) = self.entries.remove(&oldest) {
                self.bytes -= slot.size;
            }
        }
    }
}

/// An in-memory cache store. Entries live until they expire, are deleted, or are evicted
/// (least recently used first) to keep the total size within the budget; a response larger than
/// the whole budget is not kept. Cheap to share: wrap it in an `Arc`.
///
/// Used directly as a [`CacheStore`] it is one namespace; [`MemoryCache::scoped`] gives views
/// that share its budget but not its entries (the engine gives each worker site one, so sites
/// never see each other's entries, as zones do not on Cloudflare).
pub struct MemoryCache {
    lru: Mutex<Lru>,
    budget: usize,
}

impl Default for MemoryCache {
    fn default() -> Self {
        MemoryCache::new(DEFAULT_CACHE_BYTES)
    }
}

fn entry_size(key: &Key, r: &CachedResponse) -> usize {
    let headers: usize = r.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    ENTRY_OVERHEAD
        + key.0.len()
        + key.1.as_ref().map_or(0, String::len)
        + key.2.len()
        + headers
        + r.body.len()
}

impl MemoryCache {
    /// A cache that keeps at most `budget_bytes` of entries (URL, headers and body, plus a small
    /// fixed cost per entry).
    pub fn new(budget_bytes: usize) -> MemoryCache {
        MemoryCache {
            lru: Mutex::new(Lru::default()),
            budget: budget_bytes,
        }
    }

    /// A view of this cache whose entries are apart from every other scope's, sharing the budget.
    pub fn scoped(self: &Arc<Self>, scope: &str) -> Arc<dyn CacheStore> {
        Arc::new(Scoped {
            cache: self.clone(),
            scope: scope.to_string(),
        })
    }

    /// Bytes currently counted against the budget.
    pub fn used_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Entries currently held (expired ones may still be counted until they are next touched).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Lru> {
        // Every operation leaves the maps consistent before it can panic, so a poisoned lock
        // still guards valid data.
        self.lru.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn key(scope: &str, cache: Option<&str>, url: &str) -> Key {
        (
            scope.to_string(),
            cache.map(str::to_string),
            url.to_string(),
        )
    }

    fn get_in(&self, scope: &str, cache: Option<&str>, url: &str) -> Option<CachedResponse> {
        let key = Self::key(scope, cache, url);
        let mut lru = self.lock();
        let expired = lru.entries.get(&key)?.response.expires_at <= now_ms();
        if expired {
            lru.remove(&key);
            return None;
        }
        lru.touch(&key);
        lru.entries.get(&key).map(|s| s.response.clone())
    }

    fn put_in(&self, scope: &str, cache: Option<&str>, url: &str, response: CachedResponse) {
        let key = Self::key(scope, cache, url);
        let size = entry_size(&key, &response);
        let mut lru = self.lock();
        // A put replaces the entry even when the new one cannot be kept.
        lru.remove(&key);
        if size > self.budget {
            return;
        }
        let tick = lru.next_tick;
        lru.next_tick += 1;
        lru.order.insert(tick, key.clone());
        lru.entries.insert(
            key,
            Slot {
                response,
                size,
                tick,
            },
        );
        lru.bytes += size;
        lru.shrink_to(self.budget, now_ms());
    }

    fn delete_in(&self, scope: &str, cache: Option<&str>, url: &str) -> bool {
        let key = Self::key(scope, cache, url);
        self.lock()
            .remove(&key)
            .is_some_and(|slot| slot.response.expires_at > now_ms())
    }
}

#[async_trait]
impl CacheStore for MemoryCache {
    async fn get(
        &self,
        cache: Option<&str>,
        url: &str,
    ) -> Result<Option<CachedResponse>, HostError> {
        Ok(self.get_in("", cache, url))
    }
    async fn put(
        &self,
        cache: Option<&str>,
        url: &str,
        response: CachedResponse,
    ) -> Result<(), HostError> {
        self.put_in("", cache, url, response);
        Ok(())
    }
    async fn delete(&self, cache: Option<&str>, url: &str) -> Result<bool, HostError> {
        Ok(self.delete_in("", cache, url))
    }
}

/// One scope of a shared [`MemoryCache`].
struct Scoped {
    cache: Arc<MemoryCache>,
    scope: String,
}

#[async_trait]
impl CacheStore for Scoped {
    async fn get(
        &self,
        cache: Option<&str>,
        url: &str,
    ) -> Result<Option<CachedResponse>, HostError> {
        Ok(self.cache.get_in(&self.scope, cache, url))
    }
    async fn put(
        &self,
        cache: Option<&str>,
        url: &str,
        response: CachedResponse,
    ) -> Result<(), HostError> {
        self.cache.put_in(&self.scope, cache, url, response);
        Ok(())
    }
    async fn delete(&self, cache: Option<&str>, url: &str) -> Result<bool, HostError> {
        Ok(self.cache.delete_in(&self.scope, cache, url))
    }
}
