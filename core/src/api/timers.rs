//! setTimeout/setInterval: JS keeps the callbacks; Rust owns the clock.
use crate::engine::worker::IsolateState;
use crate::v8::Scope;
use std::time::Duration;

/// op_timer_start(delayMs) -> id; `internals.fireTimer(id)` runs when it is due.
pub(super) fn op_timer_start(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let ms = s.to_number(0);
    let ms = if ms.is_finite() && ms > 0.0 {
        ms.min(u32::MAX as f64)
    } else {
        0.0
    };
    let id = state.start_timer(Duration::from_micros((ms * 1000.0) as u64));
    s.push_number(id as f64);
}

/// op_timer_cancel(id)
pub(super) fn op_timer_cancel(state: &IsolateState, s: &mut Scope, _argc: i32) {
    state.cancel_timer(s.to_number(0) as u32);
}
