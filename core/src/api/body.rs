//! Bodies that stream between a worker's JavaScript and a host store, a chunk at a time, so an
//! object far larger than the isolate's heap can be written and read.
//!
//! - A store hands the runtime a [`Body`] (a boxed [`BodyReader`]) for what the worker reads
//!   (R2 `get`). The isolate keeps it in its [`BodyTable`] under a handle, and the JS
//!   `ReadableStream` (`body.js`) pulls one chunk per host call.
//! - A store receives a [`Body`] for what the worker writes (R2 `put` of a stream). It is the
//!   reading end of a bounded [`pipe`]; the worker's JS writes each chunk through a host call that
//!   completes only once the pipe has room again, so a slow store slows the writer down instead
//!   of letting chunks pile up.
//!
//! A body that is dropped before its end (the worker gave up, the invocation ended) never looks
//! complete to its reader: the reader gets an error, so a store never commits a truncated value.
use super::host::{HostError, Settle};
use crate::engine::worker::IsolateState;
use crate::v8::Scope;
use async_trait::async_trait;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use tokio::sync::mpsc;

/// A source of bytes read in order, one chunk at a time.
#[async_trait]
pub trait BodyReader: Send {
    /// The next chunk, `None` at the end. An error ends the body: the reader must not be asked
    /// again. Chunks may be empty.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HostError>;
}

/// A body as stores and the runtime pass it around.
pub type Body = Box<dyn BodyReader>;

/// A body whose bytes are all in hand.
struct Bytes(Option<Vec<u8>>);

#[async_trait]
impl BodyReader for Bytes {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.0.take())
    }
}

/// A body of `bytes`, read as one chunk.
pub fn from_bytes(bytes: Vec<u8>) -> Body {
    Box::new(Bytes(Some(bytes)))
}

/// A body of `bytes` already in hand, read `chunk` bytes at a time, so the worker pulls a large
/// value in pieces instead of taking it into its heap at once.
struct Chunked {
    bytes: Vec<u8>,
    offset: usize,
    chunk: usize,
}

#[async_trait]
impl BodyReader for Chunked {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HostError> {
        if self.offset >= self.bytes.len() {
            // Free the value as soon as it has all been read, not when the handle goes.
            self.bytes = Vec::new();
            return Ok(None);
        }
        let end = self.bytes.len().min(self.offset + self.chunk);
        let piece = self.bytes[self.offset..end].to_vec();
        self.offset = end;
        Ok(Some(piece))
    }
}

/// A body of `bytes`, read in chunks of at most `chunk` bytes (at least 1).
pub fn from_bytes_chunked(bytes: Vec<u8>, chunk: usize) -> Body {
    Box::new(Chunked {
        bytes,
        offset: 0,
        chunk: chunk.max(1),
    })
}

/// Reads `body` to its end. Only for bodies known to be small: this is the whole value in memory.
pub async fn read_all(body: &mut Body) -> Result<Vec<u8>, HostError> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next_chunk().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// What travels through a pipe. The end is explicit so that a writer that disappears midway
/// reads as a failure, not as a short body.
enum Msg {
    Chunk(Vec<u8>),
    End,
    Error(String),
}

/// Chunks a pipe holds before its writer has to wait.
const PIPE_CHUNKS: usize = 4;

/// The writing end of a [`pipe`]. Dropping it without [`BodyWriter::end`] fails the reader.
#[derive(Clone)]
pub struct BodyWriter {
    tx: mpsc::Sender<Msg>,
}

/// Why a write did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The reader is gone (the store stopped reading, or the body was cancelled).
    Closed,
    /// The pipe is full and this thread must not wait (see [`BodyWriter::write_blocking`]).
    WouldBlock,
}

impl BodyWriter {
    /// Writes `chunk`, waiting while the pipe is full.
    pub async fn write(&self, chunk: Vec<u8>) -> Result<(), WriteError> {
        self.tx
            .send(Msg::Chunk(chunk))
            .await
            .map_err(|_| WriteError::Closed)
    }

    /// Writes `chunk` from a thread outside any async runtime, blocking while the pipe is full.
    /// On a runtime thread (where blocking could stall the very loop that drains the pipe) it
    /// writes only if there is room, and reports [`WriteError::WouldBlock`] otherwise.
    pub fn write_blocking(&self, chunk: Vec<u8>) -> Result<(), WriteError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return self.tx.try_send(Msg::Chunk(chunk)).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => WriteError::WouldBlock,
                mpsc::error::TrySendError::Closed(_) => WriteError::Closed,
            });
        }
        self.tx
            .blocking_send(Msg::Chunk(chunk))
            .map_err(|_| WriteError::Closed)
    }

    /// Ends the body: `None` for a complete body, `Some(message)` to fail the reader with it.
    pub async fn end(self, error: Option<String>) {
        let _ = self.tx.send(end_msg(error)).await;
    }

    /// [`BodyWriter::end`] for threads outside an async runtime. On a runtime thread the end is
    /// queued without waiting (it may exceed the pipe's bound by one message).
    pub fn end_blocking(self, error: Option<String>) {
        if tokio::runtime::Handle::try_current().is_ok() {
            if let Err(mpsc::error::TrySendError::Full(msg)) = self.tx.try_send(end_msg(error)) {
                // Deliver the end once there is room, without holding this thread.
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(msg).await;
                });
            }
            return;
        }
        let _ = self.tx.blocking_send(end_msg(error));
    }
}

fn end_msg(error: Option<String>) -> Msg {
    match error {
        None => Msg::End,
        Some(e) => Msg::Error(e),
    }
}

struct PipeReader {
    rx: mpsc::Receiver<Msg>,
    done: bool,
}

#[async_trait]
impl BodyReader for PipeReader {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HostError> {
        if self.done {
            return Ok(None);
        }
        match self.rx.recv().await {
            Some(Msg::Chunk(c)) => Ok(Some(c)),
            Some(Msg::End) => {
                self.done = true;
                Ok(None)
            }
            Some(Msg::Error(e)) => {
                self.done = true;
                Err(HostError::new(e))
            }
            None => {
                self.done = true;
                Err(HostError::new("the body was cancelled before its end"))
            }
        }
    }
}

/// A bounded pipe: what is written to the [`BodyWriter`] is read from the [`Body`], in order.
pub fn pipe() -> (BodyWriter, Body) {
    let (tx, rx) = mpsc::channel(PIPE_CHUNKS);
    (BodyWriter { tx }, Box::new(PipeReader { rx, done: false }))
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Reads the next chunk from a thread that may block (a host's own thread, not an executor).
/// On an async runtime's thread it only takes a chunk that is already there, and returns
/// `Err(None)` when it would have to wait; `Err(Some(e))` is the body's own error.
pub fn next_chunk_blocking(body: &mut Body) -> Result<Option<Vec<u8>>, Option<HostError>> {
    let on_runtime = tokio::runtime::Handle::try_current().is_ok();
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = body.next_chunk();
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(r) => return r.map_err(Some),
            Poll::Pending if on_runtime => return Err(None),
            Poll::Pending => std::thread::park(),
        }
    }
}

// ---------------------------------------------------------------------- the isolate's bodies

enum Entry {
    /// A body the worker reads; shared with the read in flight.
    Reader(Arc<tokio::sync::Mutex<Body>>),
    /// A body the worker writes; the store takes `reader` when the operation starts.
    Writer {
        writer: BodyWriter,
        reader: Option<Body>,
    },
}

/// The bodies an isolate's JS refers to by handle. Each belongs to the invocation that opened
/// it and is dropped when that invocation ends, as on Cloudflare, where a body cannot outlive
/// its request.
#[derive(Default)]
pub(crate) struct BodyTable {
    entries: RefCell<HashMap<u32, (u32, Entry)>>,
    next: Cell<u32>,
}

impl BodyTable {
    fn insert(&self, invocation: u32, entry: Entry) -> u32 {
        let id = self.next.get().wrapping_add(1).max(1);
        self.next.set(id);
        self.entries.borrow_mut().insert(id, (invocation, entry));
        id
    }

    /// Registers a body for the worker to read; returns its handle.
    pub fn add_reader(&self, invocation: u32, body: Body) -> u32 {
        self.insert(
            invocation,
            Entry::Reader(Arc::new(tokio::sync::Mutex::new(body))),
        )
    }

    /// Takes the reading end of the writable body `handle`, for the store that consumes it.
    pub fn take_sink(&self, handle: u32) -> Option<Body> {
        match self.entries.borrow_mut().get_mut(&handle) {
            Some((_, Entry::Writer { reader, .. })) => reader.take(),
            _ => None,
        }
    }

    fn reader(&self, handle: u32) -> Option<Arc<tokio::sync::Mutex<Body>>> {
        match self.entries.borrow().get(&handle) {
            Some((_, Entry::Reader(r))) => Some(r.clone()),
            _ => None,
        }
    }

    fn writer(&self, handle: u32) -> Option<BodyWriter> {
        match self.entries.borrow().get(&handle) {
            Some((_, Entry::Writer { writer, .. })) => Some(writer.clone()),
            _ => None,
        }
    }

    fn remove(&self, handle: u32) -> Option<Entry> {
        self.entries.borrow_mut().remove(&handle).map(|(_, e)| e)
    }

    /// Drops every body of `invocation` (it has ended).
    pub fn release(&self, invocation: u32) {
        let gone: Vec<_> = {
            let mut entries = self.entries.borrow_mut();
            let ids: Vec<u32> = entries
                .iter()
                .filter(|(_, (inv, _))| *inv == invocation)
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| entries.remove(&id))
                .collect()
        };
        // Dropped outside the borrow: a body's drop may do anything.
        drop(gone);
    }
}

/// The value a write op was given as its `bytes` and `sink` arguments (`callWithBody` in
/// `body.js` passes one of them): bytes in hand, or the body the worker streams into the sink.
pub(super) fn body_arg(state: &IsolateState, s: &mut Scope, bytes: i32, sink: i32) -> Body {
    if !s.is_nullish(sink) {
        if let Some(body) = state.bodies.take_sink(s.to_number(sink) as u32) {
            return body;
        }
        return from_bytes(Vec::new());
    }
    from_bytes(s.bytes(bytes).map(|b| b.to_vec()).unwrap_or_default())
}

/// Starts `work` for the JS call whose id is the op's first argument, like `host::spawn`, but
/// without counting a subrequest: body chunks belong to the binding call that opened the body.
fn spawn_chunk_call<T: 'static>(
    state: &IsolateState,
    s: &mut Scope,
    work: impl Future<Output = Result<T, HostError>> + 'static,
    push: impl FnOnce(&mut Scope, T) + 'static,
) {
    let call = s.to_number(0) as u32;
    let work: Pin<Box<dyn Future<Output = Settle>>> = Box::pin(async move {
        let value = work.await?;
        Ok(Box::new(move |s: &mut Scope| push(s, value)) as Box<dyn FnOnce(&mut Scope)>)
    });
    state.spawn_call(call, work);
}

/// op_body_read(callId, handle) -> Uint8Array | null (the end)
pub(super) fn op_body_read(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let handle = s.to_number(1) as u32;
    let reader = state.bodies.reader(handle);
    spawn_chunk_call(
        state,
        s,
        async move {
            let reader =
                reader.ok_or_else(|| HostError::new("This body is no longer readable."))?;
            let mut body = reader.lock().await;
            body.next_chunk().await
        },
        |s, chunk| match chunk {
            Some(c) => s.push_bytes(&c),
            None => s.push_null(),
        },
    );
}

/// op_body_cancel(handle): the worker will not read (or write) this body any more.
pub(super) fn op_body_cancel(state: &IsolateState, s: &mut Scope, _argc: i32) {
    drop(state.bodies.remove(s.to_number(0) as u32));
}

/// op_body_sink() -> handle of a new body the worker writes into.
pub(super) fn op_body_sink(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let (writer, reader) = pipe();
    let id = state.bodies.insert(
        state.current_invocation(),
        Entry::Writer {
            writer,
            reader: Some(reader),
        },
    );
    s.push_number(id as f64);
}

/// op_body_write(callId, handle, bytes) -> true, or false once the reader is gone. Completes
/// when the pipe has taken the chunk, which is the writer's backpressure.
pub(super) fn op_body_write(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let writer = state.bodies.writer(s.to_number(1) as u32);
    let chunk = s.bytes(2).map(|b| b.to_vec()).unwrap_or_default();
    spawn_chunk_call(
        state,
        s,
        async move {
            match writer {
                Some(w) => Ok(w.write(chunk).await.is_ok()),
                None => Ok(false),
            }
        },
        |s, open| s.push_bool(open),
    );
}

/// op_body_end(callId, handle, errorMessage | null): the last write; a message fails the body.
pub(super) fn op_body_end(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let entry = state.bodies.remove(s.to_number(1) as u32);
    let error = (!s.is_nullish(2)).then(|| s.to_string(2));
    spawn_chunk_call(
        state,
        s,
        async move {
            if let Some(Entry::Writer { writer, .. }) = entry {
                writer.end(error).await;
            }
            Ok(())
        },
        |s, ()| s.push_undefined(),
    );
}
