//! Lets `wk` (and its tests) find libnode without LD_LIBRARY_PATH: worker-core's build script
//! reports where it linked V8 from, and we record that directory as an rpath in our binaries.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_WKV8_LIBDIR");
    if let Ok(dir) = std::env::var("DEP_WKV8_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
