//! Sets an rpath to the V8 library worker-core linked (`DEP_WKV8_LIBDIR`, from its `links = "wkv8"`
//! build script), so the benchmark binaries run from `target/` without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_WKV8_LIBDIR");
    if let Ok(libdir) = std::env::var("DEP_WKV8_LIBDIR")
        && libdir != "/usr/lib/x86_64-linux-gnu"
        && libdir != "/usr/lib"
    {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{libdir}");
    }
}
