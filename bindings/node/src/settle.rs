//! The hot path from an engine's threads back to a JS promise.
//!
//! napi-rs's `spawn_future` creates a thread-safe function per promise and polls on a tokio
//! thread: two thread hand-offs and a libuv handle per call. An execute needs neither. Here the
//! engine's future is polled inline: first on Node's thread (which queues the job), then on
//! whichever thread wakes it (the executor thread finishing the request), and the result reaches
//! Node through one long-lived thread-safe function per engine, which resolves the promise
//! created up front. While no promise is pending the function is unref'd, so an idle engine
//! never keeps the process alive.
//!
//! Waking Node's loop costs more than a fast worker takes to answer (a context switch, an
//! eventfd write from the executor). So while calls are in flight the package's JS may *poll*:
//! it keeps the loop turning with `setImmediate` (never blocking it: timers and I/O run as usual)
//! and drains finished calls from the inbox on each turn; the executor then skips the wake.
use napi::bindgen_prelude::{Env, PromiseRaw, ToNapiValue};
use napi::sys;
use std::ffi::c_void;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// Work for Node's thread: resolve one promise.
type Job = Box<dyn FnOnce(sys::napi_env) + Send>;

/// One engine's channel to Node's thread.
pub struct Settler {
    /// `None` once Node has finalized the function (environment teardown); calls then drop
    /// their job, as nobody is left to see the promise.
    tsfn: Mutex<Option<Raw>>,
    inbox: Mutex<Inbox>,
    /// Promises created and not yet settled; touched on Node's thread only.
    pending: std::sync::atomic::AtomicUsize,
}

/// Finished calls waiting for Node's thread.
#[derive(Default)]
struct Inbox {
    jobs: Vec<Job>,
    /// Node's thread is polling: it drains `jobs` on its next loop turn, so no wake is needed.
    /// While false and `jobs` is non-empty, a wake is on its way.
    polling: bool,
}

#[derive(Clone, Copy)]
struct Raw(sys::napi_threadsafe_function);

// SAFETY: a thread-safe function handle is meant to be called from any thread; Node's own
// thread is the only one that refs, unrefs or finalizes it.
unsafe impl Send for Raw {}

/// A deferred as raw napi hands it out; only ever used on Node's thread.
struct Deferred(sys::napi_deferred);

// SAFETY: the pointer travels inside a job to Node's thread and is dereferenced by napi there
// only (in `call_js`); other threads merely carry it.
unsafe impl Send for Deferred {}

fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::GenericFailure,
            format!("{what} failed ({status})"),
        ))
    }
}

unsafe extern "C" fn call_js(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    context: *mut c_void,
    _wake_carries_nothing: *mut c_void,
) {
    if env.is_null() {
        // The environment is going away: nobody is left to see the promises.
        return;
    }
    // SAFETY: `context` is the `Settler` that `Settler::new` passed, kept alive by the Arc
    // reference leaked there until `finalize` runs, which napi does after the last call.
    let settler = unsafe { &*context.cast::<Settler>() };
    settler.drain(env, false);
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the Arc reference leaked in `Settler::new`; finalize runs exactly once.
    let settler = unsafe { Arc::from_raw(data.cast::<Settler>()) };
    *settler.tsfn.lock().unwrap() = None;
}

impl Settler {
    pub fn new(env: &Env) -> napi::Result<Arc<Settler>> {
        let settler = Arc::new(Settler {
            tsfn: Mutex::new(None),
            inbox: Default::default(),
            pending: Default::default(),
        });
        let context = Arc::into_raw(settler.clone()) as *mut c_void;
        let mut name = ptr::null_mut();
        let mut raw = ptr::null_mut();
        let label = "worker-runtime";
        // SAFETY: called on Node's thread with its live env; `context` stays valid until
        // `finalize` reclaims it; no JS function is needed because `call_js` does the work.
        unsafe {
            check(
                sys::napi_create_string_utf8(
                    env.raw(),
                    label.as_ptr().cast(),
                    label.len() as isize,
                    &mut name,
                ),
                "napi_create_string_utf8",
            )?;
            let created = sys::napi_create_threadsafe_function(
                env.raw(),
                ptr::null_mut(),
                ptr::null_mut(),
                name,
                0,
                1,
                context,
                Some(finalize),
                context,
                Some(call_js),
                &mut raw,
            );
            if created != sys::Status::napi_ok {
                drop(Arc::from_raw(context.cast::<Settler>()));
                check(created, "napi_create_threadsafe_function")?;
            }
            check(
                sys::napi_unref_threadsafe_function(env.raw(), raw),
                "napi_unref_threadsafe_function",
            )?;
        }
        *settler.tsfn.lock().unwrap() = Some(Raw(raw));
        Ok(settler)
    }

    fn send(&self, job: Job) {
        let wake = {
            let mut inbox = self.inbox.lock().unwrap();
            inbox.jobs.push(job);
            !inbox.polling && inbox.jobs.len() == 1
        };
        if !wake {
            return;
        }
        let guard = self.tsfn.lock().unwrap();
        let Some(Raw(tsfn)) = *guard else { return };
        // SAFETY: the function is alive while `guard` holds it (finalize takes the same lock).
        // The call carries no data; if napi refuses it the environment is closing and nobody
        // is left to drain the inbox.
        unsafe {
            sys::napi_call_threadsafe_function(
                tsfn,
                ptr::null_mut(),
                sys::ThreadsafeFunctionCallMode::nonblocking,
            )
        };
    }

    /// Settles every finished call (on Node's thread), then records whether Node keeps polling;
    /// it only does while promises are pending. Returns that.
    fn drain(&self, env: sys::napi_env, poll: bool) -> bool {
        loop {
            let jobs = {
                let mut inbox = self.inbox.lock().unwrap();
                if inbox.jobs.is_empty() {
                    inbox.polling = poll && self.pending.load(Relaxed) > 0;
                    return inbox.polling;
                }
                std::mem::take(&mut inbox.jobs)
            };
            for job in jobs {
                job(env);
                self.settled(env);
            }
        }
    }

    /// A promise was created on Node's thread: keep the process alive until it settles.
    fn created(&self, env: sys::napi_env) {
        if self.pending.fetch_add(1, Relaxed) == 0
            && let Some(Raw(tsfn)) = *self.tsfn.lock().unwrap()
        {
            // SAFETY: Node's thread, live env, live function.
            unsafe { sys::napi_ref_threadsafe_function(env, tsfn) };
        }
    }

    fn settled(&self, env: sys::napi_env) {
        if self.pending.fetch_sub(1, Relaxed) == 1
            && let Some(Raw(tsfn)) = *self.tsfn.lock().unwrap()
        {
            // SAFETY: Node's thread, live env, live function.
            unsafe { sys::napi_unref_threadsafe_function(env, tsfn) };
        }
    }

    /// A promise for `future`'s output, converted to JS on Node's thread. Call on Node's thread.
    fn promise<T, F>(
        self: &Arc<Self>,
        env: &Env,
        future: F,
        keep: Arc<Handle>,
    ) -> napi::Result<sys::napi_value>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: Node's thread with its live env.
        check(
            unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) },
            "napi_create_promise",
        )?;
        self.created(env.raw());
        let deferred = Deferred(deferred);
        let settler = self.clone();
        Task::start(future, move |output: Option<T>| {
            settler.send(Box::new(move |env| settle(env, deferred, output)));
            drop(keep);
        });
        Ok(promise)
    }
}

/// What an engine holds. The thread-safe function is released when the engine and every task
/// still to settle have let go of it; napi delivers the calls queued before that.
pub struct Handle(Arc<Settler>);

impl Handle {
    pub fn new(env: &Env) -> napi::Result<Arc<Handle>> {
        Ok(Arc::new(Handle(Settler::new(env)?)))
    }

    /// A promise for `future`'s output, converted to JS on Node's thread. Call on Node's thread.
    pub fn promise<'e, T, F>(
        self: &Arc<Self>,
        env: &'e Env,
        future: F,
    ) -> napi::Result<PromiseRaw<'e, T>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let promise = self.0.promise(env, future, self.clone())?;
        Ok(PromiseRaw::new(env.raw(), promise))
    }

    /// Settles the calls that have finished and says whether Node's thread goes on polling
    /// (`poll` asked for it and promises are pending); while it does, finished calls skip the
    /// wake and wait for the next `poll`. Call on Node's thread.
    pub fn poll(&self, env: &Env, poll: bool) -> bool {
        self.0.drain(env.raw(), poll)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(Raw(tsfn)) = *self.0.tsfn.lock().unwrap() {
            // SAFETY: releasing is allowed from any thread; the function is alive (finalize has
            // not cleared it) and this is the only release.
            unsafe {
                sys::napi_release_threadsafe_function(
                    tsfn,
                    sys::ThreadsafeFunctionReleaseMode::release,
                )
            };
        }
    }
}

fn settle<T: ToNapiValue>(env: sys::napi_env, deferred: Deferred, output: Option<T>) {
    let value = match output {
        // SAFETY: Node's thread with its live env (we are in `call_js`).
        Some(v) => unsafe { T::to_napi_value(env, v) },
        None => Err(napi::Error::new(
            napi::Status::GenericFailure,
            "worker-runtime: internal error (a panic in the engine's future)",
        )),
    };
    // SAFETY: as above; each deferred is settled exactly once, here.
    unsafe {
        match value {
            Ok(v) => {
                sys::napi_resolve_deferred(env, deferred.0, v);
            }
            Err(e) => {
                let mut message = ptr::null_mut();
                let mut error = ptr::null_mut();
                let text = e.reason;
                sys::napi_create_string_utf8(
                    env,
                    text.as_ptr().cast(),
                    text.len() as isize,
                    &mut message,
                );
                sys::napi_create_error(env, ptr::null_mut(), message, &mut error);
                sys::napi_reject_deferred(env, deferred.0, error);
            }
        }
    }
}

/// A future polled by whichever thread wakes it, then handed to `done` (None if it panicked).
struct Task<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    future: Option<Pin<Box<dyn Future<Output = T> + Send>>>,
    done: Option<Box<dyn FnOnce(Option<T>) + Send>>,
    /// A thread is inside `poll`; a wake meanwhile sets `again` instead of polling alongside.
    polling: bool,
    again: bool,
}

impl<T: Send + 'static> Task<T> {
    fn start(
        future: impl Future<Output = T> + Send + 'static,
        done: impl FnOnce(Option<T>) + Send + 'static,
    ) {
        let task = Arc::new(Task {
            state: Mutex::new(State {
                future: Some(Box::pin(future)),
                done: Some(Box::new(done)),
                polling: false,
                again: false,
            }),
        });
        task.run();
    }

    fn run(self: &Arc<Self>) {
        let mut state = self.state.lock().unwrap();
        if state.polling {
            state.again = true;
            return;
        }
        state.polling = true;
        loop {
            let Some(mut future) = state.future.take() else {
                state.polling = false;
                return;
            };
            state.again = false;
            drop(state);
            let waker = Waker::from(self.clone());
            let polled = catch_unwind(AssertUnwindSafe(|| {
                future.as_mut().poll(&mut Context::from_waker(&waker))
            }));
            state = self.state.lock().unwrap();
            let output = match polled {
                Ok(Poll::Pending) => {
                    state.future = Some(future);
                    if state.again {
                        continue;
                    }
                    state.polling = false;
                    return;
                }
                Ok(Poll::Ready(v)) => Some(v),
                Err(_) => None,
            };
            state.polling = false;
            let done = state.done.take();
            drop(state);
            if let Some(done) = done {
                done(output);
            }
            return;
        }
    }
}

impl<T: Send + 'static> Wake for Task<T> {
    fn wake(self: Arc<Self>) {
        self.run();
    }
}
