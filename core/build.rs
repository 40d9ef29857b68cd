//! Finds the system V8 that ships inside Debian's libnode (DESIGN.md §3), checks that its headers
//! belong to the library, compiles the C++ shim against them and sets an rpath.
use std::env;
use std::path::{Path, PathBuf};

const HINT: &str = "run ./scripts/bootstrap.sh (it unpacks Debian's libnode108 + libnode-dev \
                    into .deps/v8), or install libnode-dev, or set WK_V8_PREFIX";

struct V8 {
    include: PathBuf,
    libdir: PathBuf,
}

fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(p) = env::var("WK_V8_PREFIX") {
        out.push(PathBuf::from(p));
    }
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    out.push(manifest.join("../.deps/v8/usr"));
    out.push(PathBuf::from("/usr"));
    out
}

fn find_v8() -> V8 {
    let arch = match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("aarch64") => "aarch64-linux-gnu",
        _ => "x86_64-linux-gnu",
    };
    for prefix in candidates() {
        // WK_V8_PREFIX may name either the unpacked root or its usr/ directory.
        for root in [prefix.clone(), prefix.join("usr")] {
            let include = root.join("include/node");
            if !include.join("v8-version.h").exists() {
                continue;
            }
            for libdir in [root.join("lib").join(arch), root.join("lib")] {
                if libdir.join("libnode.so").exists() || has_versioned_libnode(&libdir) {
                    return V8 { include, libdir };
                }
            }
            panic!(
                "V8 headers found in {} but no libnode.so beside them in {}/lib: {HINT}",
                include.display(),
                root.display()
            );
        }
    }
    panic!("V8 (libnode) not found: {HINT}");
}

fn has_versioned_libnode(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libnode.so."))
        })
        .unwrap_or(false)
}

fn header_version(include: &Path) -> (u32, u32) {
    let text = std::fs::read_to_string(include.join("v8-version.h")).expect("read v8-version.h");
    let get = |key: &str| -> u32 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("#define {key} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{key} missing from v8-version.h"))
    };
    (get("V8_MAJOR_VERSION"), get("V8_MINOR_VERSION"))
}

/// The V8 version compiled into the library, read from its version string ("10.2.154.26-node.x").
fn library_version(libdir: &Path) -> Option<(u32, u32)> {
    let lib = std::fs::read_dir(libdir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libnode.so."))
        })
        .find(|p| !p.is_symlink())
        .or_else(|| std::fs::canonicalize(libdir.join("libnode.so")).ok())?;
    let bytes = std::fs::read(lib).ok()?;
    // libnode embeds "v8_version" style strings; the node-suffixed V8 version is unique.
    let needle = b"-node.";
    let pos = bytes.windows(needle.len()).position(|w| w == needle)?;
    let start = bytes[..pos]
        .iter()
        .rposition(|b| !(b.is_ascii_digit() || *b == b'.'))
        .map_or(0, |i| i + 1);
    let version = std::str::from_utf8(&bytes[start..pos]).ok()?;
    let mut it = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??))
}

fn main() {
    println!("cargo:rerun-if-env-changed=WK_V8_PREFIX");
    println!("cargo:rerun-if-changed=shim/wkv8.cc");
    println!("cargo:rerun-if-changed=shim/wkv8.h");

    let v8 = find_v8();
    let headers = header_version(&v8.include);
    match library_version(&v8.libdir) {
        Some(lib) if lib != headers => panic!(
            "V8 headers in {} are {}.{} but the library in {} is {}.{}: never compile against \
             headers that do not belong to the library. {HINT}",
            v8.include.display(),
            headers.0,
            headers.1,
            v8.libdir.display(),
            lib.0,
            lib.1
        ),
        Some(_) => {}
        None => println!(
            "cargo:warning=could not read the V8 version from libnode in {}; assuming it matches",
            v8.libdir.display()
        ),
    }

    cc::Build::new()
        .cpp(true)
        .file("shim/wkv8.cc")
        .include(&v8.include)
        .flag("-std=c++17")
        .flag("-fno-rtti")
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-deprecated-declarations")
        .compile("wkv8");

    let libdir = v8.libdir.display();
    println!("cargo:rustc-link-search=native={libdir}");
    // libnode.so may be missing when only the runtime package is present; link the soname then.
    if v8.libdir.join("libnode.so").exists() {
        println!("cargo:rustc-link-lib=dylib=node");
    } else {
        println!("cargo:rustc-link-arg=-l:libnode.so.108");
    }
    println!("cargo:rustc-link-lib=dylib=stdc++");
    // Dependent crates (ffi, cli) read this as DEP_WKV8_LIBDIR to set their own rpath.
    println!("cargo:libdir={libdir}");
    if v8.libdir != Path::new("/usr/lib/x86_64-linux-gnu") && v8.libdir != Path::new("/usr/lib") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{libdir}");
    }
}
