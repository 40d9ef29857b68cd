//! Workers KV: the store interface a host implements, and the ops behind `KVNamespace`
//! (`kv.js`). Validation, value types and Cloudflare's error texts live in the JS, except the
//! size of a streamed value, which is counted here as it arrives; a store only keeps bytes, so a
//! host's store stays small. Streamed values (`put` of a stream, `get` as a stream) pass between
//! JS and these ops in chunks through `body.rs`, so they never sit whole in the JS heap.
use super::body::{self, Body, body_arg};
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

/// The largest value KV stores, as in `kv.js`, which checks values in hand; streamed values are
/// counted here as they arrive.
const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;

/// The size of the chunks a worker pulls a value read as a stream in: small enough that a value
/// near the limit never has to fit in the isolate's heap at once.
const STREAM_CHUNK_BYTES: usize = 64 * 1024;

/// Reads a put's value to its end. Past the limit the bytes are counted but no longer kept, so
/// the 413 reports the value's whole length as it does for a value in hand, without holding it.
async fn collect_value(mut body: Body) -> Result<Vec<u8>, HostError> {
    let mut value = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = body.next_chunk().await? {
        total = total.saturating_add(chunk.len());
        if total > MAX_VALUE_BYTES {
            value = Vec::new();
        } else if value.is_empty() {
            // A value in hand arrives as one chunk: keep it rather than copy it.
            value = chunk;
        } else {
            value.extend_from_slice(&chunk);
        }
    }
    if total > MAX_VALUE_BYTES {
        return Err(HostError::new(format!(
            "KV PUT failed: 413 Value length of {total} exceeds limit of {MAX_VALUE_BYTES}."
        )));
    }
    Ok(value)
}

/// op_kv_get(callId, binding, key, asStream) -> null | [bytes, metadata, expiration] |
/// [bodyHandle, metadata, expiration, length] when `asStream`: the value stays on this side and
/// the worker pulls it a chunk at a time through the body table (`body.js`).
pub(super) fn op_kv_get(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(kv) = store(state, s) else { return };
    let key = s.to_string(2);
    if !s.to_bool(3) {
        host::spawn(state, s, async move { kv.get(&key).await }, push_entry);
        return;
    }
    let bodies = state.bodies.clone();
    let invocation = state.current_invocation();
    host::spawn(
        state,
        s,
        async move { kv.get(&key).await },
        move |s, entry| match entry {
            None => s.push_null(),
            Some(e) => {
                let length = e.value.len();
                let body = body::from_bytes_chunked(e.value, STREAM_CHUNK_BYTES);
                let handle = bodies.add_reader(invocation, body);
                s.push_number(handle as f64);
                push_opt_str(s, e.metadata.as_deref());
                push_opt_u64(s, e.expiration);
                s.push_number(length as f64);
                s.push_array(4);
            }
        },
    );
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

/// op_kv_put(callId, binding, key, expiration | null, metadataJson | null, bytes | null,
/// sinkHandle | null): the value is either bytes in hand (already checked against the limit by
/// `kv.js`) or a body the worker streams in, collected here so it never gathers in the JS heap.
/// The store still gets the whole value: KV values are small enough to keep `KvStore` simple.
pub(super) fn op_kv_put(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(kv) = store(state, s) else { return };
    let key = s.to_string(2);
    let options = KvPutOptions {
        expiration: optional_u64(s, 3),
        metadata: optional_string(s, 4),
    };
    let body = body_arg(state, s, 5, 6);
    host::spawn(
        state,
        s,
        async move {
            let value = collect_value(body).await?;
            kv.put(&key, value, options).await
        },
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
