//! Calls into host-supplied stores. JS starts one through `internals.hostCall(op, ...args)`,
//! which hands the op a call id; the op starts the store's future on the executor thread, and
//! when it completes `internals.settleCall` resolves (or rejects) the worker's promise.
use crate::engine::worker::IsolateState;
use crate::v8::Scope;
use std::fmt;
use std::future::Future;

/// A store's failure. The worker's promise rejects with an `Error` carrying this message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostError {
    pub message: String,
}

impl HostError {
    pub fn new(message: impl Into<String>) -> Self {
        HostError {
            message: message.into(),
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

impl From<String> for HostError {
    fn from(message: String) -> Self {
        HostError { message }
    }
}

impl From<&str> for HostError {
    fn from(message: &str) -> Self {
        HostError::new(message)
    }
}

/// Pushes a completed call's value for JS.
pub(crate) type Settle = Result<Box<dyn FnOnce(&mut Scope)>, HostError>;

/// Starts `work` for the call whose id is the op's first argument. The call counts as a
/// subrequest of the running invocation; past the limit the op throws instead.
pub(super) fn spawn<T: 'static>(
    state: &IsolateState,
    s: &mut Scope,
    work: impl Future<Output = Result<T, HostError>> + 'static,
    push: impl FnOnce(&mut Scope, T) + 'static,
) {
    if let Err(message) = state.count_subrequest() {
        s.throw("Error", &message);
        return;
    }
    let call = s.to_number(0) as u32;
    state.spawn_call(
        call,
        Box::pin(async move {
            let value = work.await?;
            Ok(Box::new(move |s: &mut Scope| push(s, value)) as Box<dyn FnOnce(&mut Scope)>)
        }),
    );
}
