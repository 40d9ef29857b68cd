//! Workers KV: the store interface a host implements, and the ops behind `KVNamespace`
//! (`kv.js`). Validation, value types and Cloudflare's error texts live in the JS; a store only
//! keeps bytes, so a host's store stays small.
use super::host::{self, HostError};
use crate::engine::worker::IsolateState;
use crate::v8::Scope;
use async_trait::async_trait;
use std::sync::Arc;

/// A value as stored, with what was put beside it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvEntry {
    pub value: Vec<u8>,
    /// The metadata's JSON text, as the worker serialised it.
    pub metadata: Option<String>,
    /// Absolute expiry, seconds since the UNIX epoch.
    pub expiration: Option<u64>,
}

/// What `put` stores beside the value. A put replaces metadata and expiry as well as the value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvPutOptions {
    /// Absolute expiry, seconds since the UNIX epoch (the runtime turns `expirationTtl` into it).
    pub expiration: Option<u64>,
    pub metadata: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvListOptions {
    pub prefix: String,
    /// At most this many keys (1..=1000).
    pub limit: usize,
    /// The `cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvKey {
    pub name: String,
    pub expiration: Option<u64>,
    pub metadata: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvList {
    /// Live keys in UTF-8 byte order, starting after the cursor.
    pub keys: Vec<KvKey>,
    pub list_complete: bool,
    /// An opaque position to continue from; only meaningful when `list_complete` is false.
    pub cursor: Option<String>,
}

/// A KV namespace's storage. Methods may complete on any thread. Expired keys must be
/// invisible to `get` and `list`. An error rejects the worker's promise with its message.
#[async_trait]
pub trait KvStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, HostError>;
    async fn put(&self, key: &str, value: Vec<u8>, options: KvPutOptions) -> Result<(), HostError>;
    async fn delete(&self, key: &str) -> Result<(), HostError>;
    async fn list(&self, options: KvListOptions) -> Result<KvList, HostError>;

    /// Bulk `get`; stores with a cheaper way to read many keys at once override it.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<KvEntry>>, HostError> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(self.get(k).await?);
        }
        Ok(out)
    }
}

fn store(state: &IsolateState, s: &mut Scope) -> Option<Arc<dyn KvStore>> {
    let store = state.binding(s.to_number(1) as usize).and_then(|b| b.kv());
    if store.is_none() {
        s.throw("Error", "KV namespace binding is no longer available");
    }
    store
}

fn push_opt_str(s: &mut Scope, v: Option<&str>) {
    match v {
        Some(v) => s.push_str(v),
        None => s.push_null(),
    }
}

fn push_opt_u64(s: &mut Scope, v: Option<u64>) {
    match v {
        Some(v) => s.push_number(v as f64),
        None => s.push_null(),
    }
}

/// Pushes `[value, metadata | null, expiration | null]`, or null for a missing key.
fn push_entry(s: &mut Scope, entry: Option<KvEntry>) {
    match entry {
        None => s.push_null(),
        Some(e) => {
            s.push_bytes(&e.value);
            push_opt_str(s, e.metadata.as_deref());
            push_opt_u64(s, e.expiration);
            s.push_array(3);
        }
    }
}

fn optional_string(s: &Scope, idx: i32) -> Option<String> {
    (!s.is_nullish(idx)).then(|| s.to_string(idx))
}

fn optional_u64(s: &Scope, idx: i32) -> Option<u64> {
    (!s.is_nullish(idx)).then(|| s.to_number(idx) as u64)
}

/// op_kv_get(callId, binding, key)
pub(super) fn op_kv_get(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(kv) = store(state, s) else { return };
    let key = s.to_string(2);
    host::spawn(state, s, async move { kv.get(&key).await }, push_entry);
}

/// op_kv_get_many(callId, binding, keys) -> entries in key order
pub(super) fn op_kv_get_many(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(kv) = store(state, s) else { return };
    let keys = s.to_strings(2);
    host::spawn(
        state,
        s,
        async move { kv.get_many(&keys).await },
        |s, entries| {
            let n = entries.len() as i32;
            for e in entries {
                push_entry(s, e);
            }
            s.push_array(n);
        },
    );
}

/// op_kv_put(callId, binding, key, bytes, expiration | null, metadataJson | null)
pub(super) fn op_kv_put(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(kv) = store(state, s) else { return };
    let key = s.to_string(2);
    let value = s.bytes(3).map(|b| b.to_vec()).unwrap_or_default();
    let options = KvPutOptions {
        expiration: optional_u64(s, 4),
        metadata: optional_string(s, 5),
    };
    host::spawn(
        state,
        s,
        async move { kv.put(&key, value, options).await },
        |s, ()| s.push_undefined(),
    );
}

/// op_kv_delete(callId, binding, key)
pub(super) fn op_kv_delete(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(kv) = store(state, s) else { return };
    let key = s.to_string(2);
    host::spawn(state, s, async move { kv.delete(&key).await }, |s, ()| {
        s.push_undefined()
    });
}

/// op_kv_list(callId, binding, prefix, limit, cursor | null) -> [complete, cursor, name,
/// expiration, metadata, name, ...]
pub(super) fn op_kv_list(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(kv) = store(state, s) else { return };
    let options = KvListOptions {
        prefix: s.to_string(2),
        limit: s.to_number(3) as usize,
        cursor: optional_string(s, 4),
    };
    host::spawn(
        state,
        s,
        async move { kv.list(options).await },
        |s, list| {
            s.push_bool(list.list_complete);
            push_opt_str(s, list.cursor.as_deref().filter(|_| !list.list_complete));
            let n = 2 + 3 * list.keys.len() as i32;
            for k in list.keys {
                s.push_str(&k.name);
                push_opt_u64(s, k.expiration);
                push_opt_str(s, k.metadata.as_deref());
            }
            s.push_array(n);
        },
    );
}
