//! `include/worker.h` is generated from this crate by cbindgen; this test regenerates it and
//! fails when the committed header differs. `WK_BLESS=1` rewrites the header instead.
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn generate() -> String {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("read ffi/cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to generate worker.h");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen wrote UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let path = repo().join("include/worker.h");
    let fresh = generate();
    if std::env::var_os("WK_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/worker.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let first = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "lengths differ".to_string(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "include/worker.h is out of date with ffi/src ({first}).\n\
             Regenerate it with:  WK_BLESS=1 cargo test -p worker-ffi --test header"
        );
    }
}

#[test]
fn header_says_do_not_edit() {
    let fresh = generate();
    assert!(
        fresh.starts_with("/*") && fresh.lines().take(12).any(|l| l.contains("DO NOT EDIT")),
        "worker.h must open with a generated-file notice"
    );
    assert!(fresh.contains("#define WK_ABI_VERSION 1"));
    assert!(
        !fresh.contains("wkv8_"),
        "shim symbols must never reach the public header"
    );
}
