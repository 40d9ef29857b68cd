//! worker-core: libworker's engine.
pub mod v8;
