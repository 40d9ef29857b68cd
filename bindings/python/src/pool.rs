//! Threads that run plain (blocking) Python store methods, so a store that takes its time never
//! stalls an executor's event loop, and a store that blocks on a body read can park its thread.
//!
//! Not tokio's blocking pool: on its threads the runtime context is entered, and body reads
//! there refuse to wait (`body::next_chunk_blocking`), which a Python store reading a streamed
//! R2 body must be able to do.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    tx: Mutex<Sender<Job>>,
    rx: Arc<Mutex<Receiver<Job>>>,
    idle: Arc<AtomicUsize>,
}

/// An idle thread leaves after this long, so a burst of slow calls does not keep threads alive.
const IDLE_EXIT: Duration = Duration::from_secs(30);

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = channel();
        Pool {
            tx: Mutex::new(tx),
            rx: Arc::new(Mutex::new(rx)),
            idle: Arc::new(AtomicUsize::new(0)),
        }
    })
}

/// Runs `job` on a pool thread. A new thread starts whenever none is idle: calls that sleep
/// (a store answering after a delay) must not queue behind each other.
pub fn submit(job: impl FnOnce() + Send + 'static) {
    let p = pool();
    let spawn = p
        .idle
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_err();
    let _ = p.tx.lock().unwrap().send(Box::new(job));
    if spawn {
        let rx = p.rx.clone();
        let idle = p.idle.clone();
        let started = std::thread::Builder::new()
            .name("wk-python-store".into())
            .spawn(move || worker(rx, idle));
        if started.is_err() {
            // Out of threads: an idle one, when there is one again, takes the job from the queue.
            p.idle.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// A pool thread. `submit` reserved this thread's first job by not counting it idle; after each
/// job it counts itself idle again until it takes the next one.
fn worker(rx: Arc<Mutex<Receiver<Job>>>, idle: Arc<AtomicUsize>) {
    loop {
        let next = rx.lock().unwrap().recv_timeout(IDLE_EXIT);
        match next {
            Ok(job) => {
                job();
                idle.fetch_add(1, Ordering::AcqRel);
            }
            Err(RecvTimeoutError::Timeout) => {
                // Leave only if still counted idle (no submit has reserved this thread).
                if idle
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok()
                {
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
