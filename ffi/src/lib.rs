//! libworker's C ABI: `libworker.so`, `libworker.a` and `include/worker.h` (generated from this
//! crate by cbindgen; see `tests/header.rs`).
//!
//! Conventions (DESIGN.md §5):
//! - Functions that build or run things return `wk_status_t` and take a trailing optional
//!   `wk_error_t **err`; on failure `*err` receives an owned error (`wk_error_free`), on success
//!   it is set to NULL. Accessors of responses and errors, and completion calls, report through
//!   their return value only.
//! - Handles come from `wk_*_new` and go back through the matching `wk_*_free`; `_free(NULL)`
//!   is a no-op. Inputs are borrowed for the call; strings are UTF-8 `(ptr, len)` and need no NUL.
//! - NULL where a value is required, invalid UTF-8 and a bad `struct_size` give
//!   `WK_E_INVALID_ARGUMENT`; a panic inside libworker gives `WK_E_PANIC`. Nothing unwinds into C.
//!
//! The Rust side of one-shot completions ([`completion_pair`]) is public for the bindings that
//! adapt host vtables.
#![allow(non_camel_case_types)]
// Every exported function shares one safety contract, stated above and in the header: pointers
// are NULL or valid for the documented access, handles are live, buffers hold `len` bytes.
// Repeating it as a `# Safety` section on each function would only bloat worker.h.
#![allow(clippy::missing_safety_doc)]

// Declaration order is the order of items in worker.h.
mod assets;
mod completion;
mod d1;
mod engine;
mod env;
mod error;
mod kv;
// After kv: its items use the completion and env types declared above.
mod cache;
mod project;
mod queue;
mod r2;
mod response;
mod source;

pub use assets::*;
pub use cache::*;
pub use completion::*;
pub use d1::*;
pub use engine::*;
pub use env::*;
pub use error::*;
pub use kv::*;
pub use project::*;
pub use queue::*;
pub use r2::*;
pub use response::*;
pub use source::*;

/// The ABI version this header describes. Bumped (with the soname) on incompatible changes.
pub const WK_ABI_VERSION: u32 = 1;

/// The ABI version of the loaded library; compare with `WK_ABI_VERSION` at start-up. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn wk_abi_version() -> u32 {
    WK_ABI_VERSION
}

/// The library version (`"0.1.0"`), NUL-terminated, static. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn wk_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
