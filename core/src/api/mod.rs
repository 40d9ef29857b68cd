//! Native halves of the Web APIs: one module per API, each beside its JS (`<name>.js`).
//!
//! Ops are the only way JavaScript reaches Rust. They are numbered by their position in the
//! list below when the startup snapshot is built, so the list is the whole native surface.
pub mod assets;
pub mod body;
pub mod cache;
mod clone;
mod console;
mod crypto;
pub mod d1;
mod encoding;
pub(crate) mod host;
mod invocation;
pub mod kv;
mod performance;
pub mod queue;
pub mod r2;
mod timers;
mod url;

use crate::engine::worker::IsolateState;
use crate::v8::{OpTable, Scope};
use std::ffi::c_void;
use std::sync::Arc;

pub(crate) use host::Settle;

/// A host-supplied binding an isolate's env refers to.
#[derive(Clone)]
pub(crate) enum Binding {
    Kv(Arc<dyn kv::KvStore>),
    D1(Arc<dyn d1::D1Database>),
    Assets(Arc<dyn assets::AssetsFetcher>),
    Queue(Arc<dyn queue::QueueSender>),
    R2(Arc<dyn r2::R2Store>),
}

impl Binding {
    /// Whether both are the very same store object.
    pub fn same(&self, other: &Binding) -> bool {
        match (self, other) {
            (Binding::Kv(a), Binding::Kv(b)) => Arc::ptr_eq(a, b),
            (Binding::D1(a), Binding::D1(b)) => Arc::ptr_eq(a, b),
            (Binding::Assets(a), Binding::Assets(b)) => Arc::ptr_eq(a, b),
            (Binding::Queue(a), Binding::Queue(b)) => Arc::ptr_eq(a, b),
            (Binding::R2(a), Binding::R2(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    pub fn kv(&self) -> Option<Arc<dyn kv::KvStore>> {
        match self {
            Binding::Kv(k) => Some(k.clone()),
            _ => None,
        }
    }

    pub fn d1(&self) -> Option<Arc<dyn d1::D1Database>> {
        match self {
            Binding::D1(d) => Some(d.clone()),
            _ => None,
        }
    }

    pub fn assets(&self) -> Option<Arc<dyn assets::AssetsFetcher>> {
        match self {
            Binding::Assets(a) => Some(a.clone()),
            _ => None,
        }
    }

    pub fn queue(&self) -> Option<Arc<dyn queue::QueueSender>> {
        match self {
            Binding::Queue(q) => Some(q.clone()),
            _ => None,
        }
    }

    pub fn r2(&self) -> Option<Arc<dyn r2::R2Store>> {
        match self {
            Binding::R2(b) => Some(b.clone()),
            _ => None,
        }
    }
}

type OpFn = fn(&IsolateState, &mut Scope, i32);

macro_rules! ops {
    ($($name:ident => $f:path),* $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($name)),*];
        const FNS: &[OpFn] = &[$($f),*];
    };
}

ops! {
    op_log => console::op_log,
    op_timer_start => timers::op_timer_start,
    op_timer_cancel => timers::op_timer_cancel,
    op_respond => invocation::op_respond,
    op_fail => invocation::op_fail,
    op_function_result => invocation::op_function_result,
    op_done => invocation::op_done,
    op_url_parse => url::op_url_parse,
    op_url_set => url::op_url_set,
    op_utf8_encode => encoding::op_utf8_encode,
    op_utf8_encode_into => encoding::op_utf8_encode_into,
    op_utf8_decode => encoding::op_utf8_decode,
    op_random_fill => crypto::op_random_fill,
    op_random_uuid => crypto::op_random_uuid,
    op_now => performance::op_now,
    op_structured_clone => clone::op_structured_clone,
    op_kv_get => kv::op_kv_get,
    op_kv_get_many => kv::op_kv_get_many,
    op_kv_put => kv::op_kv_put,
    op_kv_delete => kv::op_kv_delete,
    op_kv_list => kv::op_kv_list,
    // D1
    op_d1_query => d1::op_d1_query,
    op_d1_dump => d1::op_d1_dump,
    // Static assets
    op_assets_fetch => assets::op_assets_fetch,
    // Queues
    op_queue_send => queue::op_queue_send,
    op_queue_metrics => queue::op_queue_metrics,
    op_queue_serialize => queue::op_queue_serialize,
    op_queue_deserialize => queue::op_queue_deserialize,
    // Cache API
    op_cache_match => cache::op_cache_match,
    op_cache_put => cache::op_cache_put,
    op_cache_delete => cache::op_cache_delete,
    // Bodies streaming between JS and host stores (R2 today).
    op_body_read => body::op_body_read,
    op_body_cancel => body::op_body_cancel,
    op_body_sink => body::op_body_sink,
    op_body_write => body::op_body_write,
    op_body_end => body::op_body_end,
    // R2
    op_r2_head => r2::op_r2_head,
    op_r2_get => r2::op_r2_get,
    op_r2_put => r2::op_r2_put,
    op_r2_delete => r2::op_r2_delete,
    op_r2_list => r2::op_r2_list,
    op_r2_create_multipart => r2::op_r2_create_multipart,
    op_r2_upload_part => r2::op_r2_upload_part,
    op_r2_complete_multipart => r2::op_r2_complete_multipart,
    op_r2_abort_multipart => r2::op_r2_abort_multipart,
}

fn dispatch(data: *mut c_void, scope: &mut Scope, op: u32, argc: i32) {
    if data.is_null() {
        scope.throw(
            "Error",
            "native functions are unavailable while the snapshot is built",
        );
        return;
    }
    // SAFETY: every isolate is created with a pointer to its IsolateState, which outlives the
    // isolate (engine::worker drops the isolate first).
    let state = unsafe { &*(data as *const IsolateState) };
    if let Some(f) = FNS.get(op as usize) {
        f(state, scope, argc);
    }
}

pub(crate) static OPS: OpTable = OpTable {
    names: NAMES,
    dispatch,
};
