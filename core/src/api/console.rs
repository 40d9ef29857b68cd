//! console.*: JS formats the message; the entry is captured for the invocation that logged it.
use crate::engine::LogLevel;
use crate::engine::worker::IsolateState;
use crate::v8::Scope;

/// op_log(level, message)
pub(super) fn op_log(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let level = LogLevel::parse(&s.to_string(0));
    let message = s.to_string(1);
    state.log(level, message);
}
