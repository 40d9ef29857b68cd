//! Link settings for the Node addon. napi-build adds the flags a Node addon needs (undefined
//! napi symbols allowed; they are looked up in the running node). The rpath lets the addon find
//! the libnode that worker-core links (DESIGN.md §3) without LD_LIBRARY_PATH.
fn main() {
    napi_build::setup();
    println!("cargo:rerun-if-env-changed=DEP_WKV8_LIBDIR");
    if let Ok(dir) = std::env::var("DEP_WKV8_LIBDIR") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-rpath,{dir}");
    }
}
