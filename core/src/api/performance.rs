//! performance.now(): milliseconds since the isolate's time origin.
use crate::engine::worker::IsolateState;
use crate::v8::Scope;

pub(super) fn op_now(state: &IsolateState, s: &mut Scope, _argc: i32) {
    s.push_number(state.time_origin.elapsed().as_secs_f64() * 1000.0);
}
