//! structuredClone through V8's serializer (the same format Durable Object storage will use).
use crate::engine::worker::IsolateState;
use crate::v8::Scope;

/// op_structured_clone(value) -> a deep copy; throws DataCloneError for uncloneable values.
pub(super) fn op_structured_clone(_: &IsolateState, s: &mut Scope, argc: i32) {
    let Some(bytes) = s.serialize(0) else {
        // The serializer left its DataCloneError pending; it is thrown when the op returns.
        return;
    };
    s.settop(argc);
    if let Err(e) = s.deserialize(&bytes) {
        s.throw("Error", &e.message);
    }
}
