//! Calls from libworker's threads into the host's JavaScript.
//!
//! Every JS-implemented store (and the source loader) is one *dispatcher* function made by the
//! package's JS (`lib/stores.js`): `dispatch(method, reply, args)`. The executor thread that
//! needs an answer queues the call onto Node's event loop through a thread-safe function and
//! awaits a channel; the dispatcher runs the host's method there, awaits it if it returned a
//! Promise, and settles the [`Reply`] exactly once. The answer is converted to Rust data on
//! Node's thread, so no JS value ever leaves it. Executor threads never block on Node: they await
//! the channel while their event loop keeps serving other requests.
use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use tokio::sync::oneshot;
use worker_core::HostError;

/// One argument handed to a dispatcher; becomes the matching JS value on Node's thread.
pub enum Arg {
    Str(String),
    Bytes(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    /// Structured options (parsed JSON objects the JS receives as plain objects).
    Json(serde_json::Value),
    List(Vec<Arg>),
    /// An integer beyond what a JS number holds exactly.
    BigInt(i64),
    Object(Vec<(&'static str, Arg)>),
}

impl Arg {
    pub fn opt_str(v: Option<&str>) -> Arg {
        v.map_or(Arg::Null, |s| Arg::Str(s.to_string()))
    }
    pub fn opt_num(v: Option<f64>) -> Arg {
        v.map_or(Arg::Null, Arg::Num)
    }
}

impl ToNapiValue for Arg {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        // SAFETY: `env` is the live environment napi handed this conversion (we are on Node's
        // thread inside the thread-safe function's callback); each arm delegates to napi's own
        // conversion for the Rust value it holds.
        unsafe {
            match val {
                Arg::Str(s) => String::to_napi_value(env, s),
                Arg::Bytes(b) => Buffer::to_napi_value(env, Buffer::from(b)),
                Arg::Num(n) => f64::to_napi_value(env, n),
                Arg::Bool(b) => bool::to_napi_value(env, b),
                Arg::Null => Null::to_napi_value(env, Null),
                Arg::Json(v) => serde_json::Value::to_napi_value(env, v),
                Arg::List(items) => Vec::<Arg>::to_napi_value(env, items),
                Arg::BigInt(i) => BigInt::to_napi_value(env, BigInt::from(i)),
                Arg::Object(fields) => {
                    let env = Env::from_raw(env);
                    let mut object = Object::new(&env)?;
                    for (name, value) in fields {
                        object.set(name, value)?;
                    }
                    Ok(object.raw())
                }
            }
        }
    }
}

/// Turns the JS answer into Rust data; runs on Node's thread.
type Settle = Box<dyn FnOnce(std::result::Result<(sys::napi_env, sys::napi_value), String>) + Send>;

/// The one-shot answer slot a dispatcher settles: `reply.ok(value)` or `reply.err(message)`.
/// If the JS drops it unsettled, the waiting call fails instead of hanging.
#[napi]
pub struct Reply {
    settle: Option<Settle>,
}

#[napi]
impl Reply {
    #[napi]
    pub fn ok(&mut self, env: Env, value: Unknown) {
        if let Some(settle) = self.settle.take() {
            settle(Ok((env.raw(), value.raw())));
        }
    }

    #[napi]
    pub fn err(&mut self, message: String) {
        if let Some(settle) = self.settle.take() {
            settle(Err(message));
        }
    }
}

pub type CallArgsOf = FnArgs<(String, Reply, Vec<Arg>)>;

/// A dispatcher as Rust holds it. Weak: a store alone never keeps Node's process alive (an
/// execute in flight does, through its pending promise).
pub type Dispatch =
    ThreadsafeFunction<CallArgsOf, Unknown<'static>, CallArgsOf, Status, false, true>;

/// Wraps a JS dispatcher function so any thread can call it.
pub fn dispatcher(f: Function<CallArgsOf, Unknown<'static>>) -> Result<Dispatch> {
    f.build_threadsafe_function::<CallArgsOf>()
        .callee_handled::<false>()
        .weak::<true>()
        .build()
}

fn start(
    dispatch: &Dispatch,
    method: &str,
    args: Vec<Arg>,
    settle: Settle,
) -> std::result::Result<(), HostError> {
    let reply = Reply {
        settle: Some(settle),
    };
    let status = dispatch.call(
        FnArgs::from((method.to_string(), reply, args)),
        ThreadsafeFunctionCallMode::NonBlocking,
    );
    if status == Status::Ok {
        Ok(())
    } else {
        Err(HostError::new(format!(
            "the Node.js host is gone ({method} could not be called: {status})"
        )))
    }
}

/// Converts the JS answer with `J`'s napi conversion, then `map`s it to plain Rust data.
fn settle_into<J, R>(
    method: &'static str,
    map: impl FnOnce(J) -> std::result::Result<R, HostError> + Send + 'static,
    deliver: impl FnOnce(std::result::Result<R, HostError>) + Send + 'static,
) -> Settle
where
    J: FromNapiValue,
    R: Send + 'static,
{
    Box::new(move |answer| {
        let result = match answer {
            Err(message) => Err(HostError::new(message)),
            // SAFETY: the env and value come straight from `Reply::ok`, which runs on Node's
            // thread during the JS call that passed `value`, so both are live here.
            Ok((env, value)) => match unsafe { J::from_napi_value(env, value) } {
                Ok(j) => map(j),
                Err(e) => Err(HostError::new(format!(
                    "{method}: the store returned an unexpected value: {}",
                    e.reason
                ))),
            },
        };
        deliver(result);
    })
}

/// Calls `method` and awaits its answer without blocking the calling thread.
pub async fn call<J, R>(
    dispatch: &Dispatch,
    method: &'static str,
    args: Vec<Arg>,
    map: impl FnOnce(J) -> std::result::Result<R, HostError> + Send + 'static,
) -> std::result::Result<R, HostError>
where
    J: FromNapiValue,
    R: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let settle = settle_into(method, map, move |r| {
        let _ = tx.send(r);
    });
    start(dispatch, method, args, settle)?;
    rx.await.unwrap_or_else(|_| Err(unanswered(method)))
}

/// Calls `method` and blocks until it answers. Only for callers on a thread that may block and
/// is never Node's (the source loader runs on a blocking-capable engine thread).
pub fn call_blocking<J, R>(
    dispatch: &Dispatch,
    method: &'static str,
    args: Vec<Arg>,
    map: impl FnOnce(J) -> std::result::Result<R, HostError> + Send + 'static,
) -> std::result::Result<R, HostError>
where
    J: FromNapiValue,
    R: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let settle = settle_into(method, map, move |r| {
        let _ = tx.send(r);
    });
    start(dispatch, method, args, settle)?;
    rx.recv().unwrap_or_else(|_| Err(unanswered(method)))
}

fn unanswered(method: &str) -> HostError {
    HostError::new(format!("{method}: the store never answered"))
}
