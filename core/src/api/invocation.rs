//! How an invocation's JS reports back: a response, a function result, a failure, and the end of
//! its `waitUntil` work.
use crate::engine::worker::{HttpResponse, IsolateState, Outcome};
use crate::engine::{ErrorKind, WorkerError};
use crate::v8::{Scope, Type};

fn request_id(s: &Scope) -> u32 {
    s.to_number(0) as u32
}

/// op_respond(reqId, status, statusText, headersFlat, body)
pub(super) fn op_respond(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let id = request_id(s);
    let status = s.to_number(1) as u16;
    let status_text = s.to_string(2);
    let flat = s.to_strings(3);
    let mut headers = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        headers.push((k, v));
    }
    let body = match s.type_of(4) {
        Type::Bytes => s.bytes(4).map(|b| b.to_vec()).unwrap_or_default(),
        _ => Vec::new(),
    };
    let limit = state.limits.max_response_bytes;
    let outcome = if limit > 0 && body.len() > limit {
        Outcome::Failed(WorkerError::new(
            ErrorKind::ExceededResponseSize,
            format!(
                "Response body of {} bytes exceeds the limit (max_response_bytes = {limit}).",
                body.len()
            ),
        ))
    } else {
        Outcome::Response(HttpResponse {
            status,
            status_text,
            headers,
            body,
        })
    };
    state.complete(id, outcome, false);
}

/// op_fail(reqId, name, message, stack, passThrough)
pub(super) fn op_fail(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let id = request_id(s);
    let stack = s.to_string(3);
    let error = WorkerError {
        kind: ErrorKind::Exception,
        name: s.to_string(1),
        message: s.to_string(2),
        location: crate::engine::worker::location_from_stack(&stack),
        stack,
    };
    let pass_through = s.to_bool(4);
    state.complete(id, Outcome::Failed(error), pass_through);
}

/// op_function_result(reqId, json)
pub(super) fn op_function_result(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let id = request_id(s);
    let json = s.to_string(1);
    state.complete(id, Outcome::Json(json), false);
}

/// op_done(reqId): every `waitUntil` promise of the invocation has settled.
pub(super) fn op_done(state: &IsolateState, s: &mut Scope, _argc: i32) {
    state.finish(request_id(s));
}
