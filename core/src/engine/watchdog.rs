//! One thread per engine that stops JavaScript running past its deadline.
//!
//! Each executor thread owns a slot. Arming it costs one uncontended lock; the watchdog thread
//! sleeps until the earliest deadline and is only woken when a new deadline is earlier than the
//! one it sleeps towards, so steady traffic causes no wake-ups.
use crate::v8::TerminateHandle;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

#[derive(Default)]
struct Slot {
    armed: Option<(TerminateHandle, Instant)>,
    fired: bool,
}

struct State {
    slots: Vec<Slot>,
    wake_at: Option<Instant>,
    stop: bool,
}

struct Inner {
    state: Mutex<State>,
    cv: Condvar,
}

pub(crate) struct Watchdog {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Watchdog {
    pub fn new(slots: usize) -> Watchdog {
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                slots: (0..slots).map(|_| Slot::default()).collect(),
                wake_at: None,
                stop: false,
            }),
            cv: Condvar::new(),
        });
        let for_thread = inner.clone();
        let thread = std::thread::Builder::new()
            .name("wk-watchdog".into())
            .spawn(move || watch(&for_thread))
            .expect("spawn watchdog thread");
        Watchdog {
            inner,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Terminates the isolate behind `handle` at `deadline` unless disarmed first.
    pub fn arm(&self, slot: usize, handle: TerminateHandle, deadline: Instant) {
        let mut st = self.inner.state.lock().unwrap();
        st.slots[slot] = Slot {
            armed: Some((handle, deadline)),
            fired: false,
        };
        if st.wake_at.is_none_or(|w| deadline < w) {
            self.inner.cv.notify_one();
        }
    }

    /// Returns whether the deadline passed (and the isolate was told to terminate).
    pub fn disarm(&self, slot: usize) -> bool {
        let mut st = self.inner.state.lock().unwrap();
        let s = &mut st.slots[slot];
        s.armed = None;
        std::mem::take(&mut s.fired)
    }

    pub fn stop(&self) {
        self.inner.state.lock().unwrap().stop = true;
        self.inner.cv.notify_one();
        if let Some(t) = self.thread.lock().unwrap().take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

fn watch(inner: &Inner) {
    let mut st = inner.state.lock().unwrap();
    loop {
        if st.stop {
            return;
        }
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for slot in st.slots.iter_mut() {
            if let Some((handle, deadline)) = slot.armed {
                if deadline <= now {
                    // The executor clears the slot under this lock before its isolate can be
                    // freed, so the handle is live here.
                    handle.terminate();
                    slot.fired = true;
                    slot.armed = None;
                } else {
                    next = Some(next.map_or(deadline, |n| n.min(deadline)));
                }
            }
        }
        st.wake_at = next;
        st = match next {
            Some(at) => inner.cv.wait_timeout(st, at - now).unwrap().0,
            None => inner.cv.wait(st).unwrap(),
        };
    }
}
