//! Link settings for libworker: the soname carries the ABI major version, and an rpath lets the
//! library (and this crate's tests) find the libnode that worker-core links (DESIGN.md §3).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_WKV8_LIBDIR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libworker.so.1");
    if let Ok(dir) = std::env::var("DEP_WKV8_LIBDIR") {
        // Every linked target of this package: the cdylib and the test binaries.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
