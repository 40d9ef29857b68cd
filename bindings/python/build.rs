//! The extension links libnode through worker-core; an rpath to the directory worker-core found
//! it in lets `import worker` load it from anywhere (DESIGN.md §3).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_WKV8_LIBDIR");
    if let Ok(dir) = std::env::var("DEP_WKV8_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
