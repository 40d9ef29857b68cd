//! The C side of the ABI: `include/worker.h` compiles as strict C99 and as C++ with every warning
//! an error, and `examples/c/hello.c` plus the programs in `tests/c/` build against
//! `libworker.so` and run clean under AddressSanitizer with leak detection (or, where
//! LeakSanitizer cannot run, under valgrind). A missing compiler fails the test; nothing is
//! skipped silently.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn require(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{tool}` is required to test the C ABI but was not found: install it \
         (Debian: apt-get install build-essential) and rerun"
    );
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The directory holding `libworker.so` for this test's profile, freshly built by cargo.
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // This binary lives in <target>/<profile>/deps/.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let target_dir = profile_dir.parent().unwrap();
        let profile = profile_dir
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(repo())
            .args(["build", "-p", "worker-ffi", "--lib", "--target-dir"])
            .arg(target_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        run_ok(&mut cmd);
        assert!(profile_dir.join("libworker.so").exists());
        assert!(profile_dir.join("libworker.a").exists());
        // The soname is libworker.so.1; give the loader that name, as an install would.
        let link = profile_dir.join("libworker.so.1");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("libworker.so", &link).expect("symlink libworker.so.1");
        profile_dir
    })
}

/// libnode's directory, as recorded in libworker.so's RUNPATH by build.rs.
fn v8_lib_dir() -> String {
    let out = run_ok(
        Command::new("readelf")
            .arg("-d")
            .arg(lib_dir().join("libworker.so")),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("(RUNPATH)") || l.contains("(RPATH)"))
        .unwrap_or_else(|| panic!("libworker.so has no RUNPATH:\n{text}"));
    let start = line.find('[').unwrap() + 1;
    let end = line.rfind(']').unwrap();
    line[start..end].split(':').next().unwrap().to_string()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Checker {
    /// `-fsanitize=address` with `detect_leaks=1`.
    Asan,
    /// Plain build run under `valgrind --leak-check=full`.
    Valgrind,
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wk-ffi-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// ASan with LeakSanitizer if a deliberately leaking program is caught here; else valgrind.
fn checker() -> Checker {
    static CHOICE: OnceLock<Checker> = OnceLock::new();
    *CHOICE.get_or_init(|| {
        require("gcc");
        // WK_C_CHECKER=valgrind (or asan) forces one, e.g. to exercise the fallback.
        match std::env::var("WK_C_CHECKER").as_deref() {
            Ok("valgrind") => {
                require("valgrind");
                return Checker::Valgrind;
            }
            Ok("asan") => return Checker::Asan,
            _ => {}
        }
        let dir = scratch();
        let src = dir.join("leak.c");
        std::fs::write(
            &src,
            "#include <stdlib.h>\nint main(void) { void *volatile p = malloc(33); p = 0; \
             return 0; }\n",
        )
        .unwrap();
        let exe = dir.join("leak");
        let built = run(Command::new("gcc")
            .args(["-fsanitize=address", "-g"])
            .arg(&src)
            .arg("-o")
            .arg(&exe));
        if built.status.success() {
            let out = run(Command::new(&exe).env("ASAN_OPTIONS", "detect_leaks=1"));
            let err = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() && err.contains("LeakSanitizer: detected memory leaks") {
                return Checker::Asan;
            }
            eprintln!("LeakSanitizer does not work here ({err}); falling back to valgrind");
        } else {
            eprintln!("gcc cannot build with -fsanitize=address; falling back to valgrind");
        }
        require("valgrind");
        Checker::Valgrind
    })
}

fn cflags(checker: Checker) -> Vec<String> {
    let mut f: Vec<String> = [
        "-std=c99",
        "-pedantic",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-g",
        "-O1",
    ]
    .map(String::from)
    .to_vec();
    if checker == Checker::Asan {
        f.extend(["-fsanitize=address", "-fno-omit-frame-pointer"].map(String::from));
    }
    f
}

/// Builds `src` (C, with pthreads) against libworker.so into the scratch directory.
fn build_c(src: &Path, name: &str, checker: Checker) -> PathBuf {
    let lib = lib_dir();
    let exe = scratch().join(format!("{name}-{checker:?}"));
    run_ok(
        Command::new("gcc")
            .args(cflags(checker))
            .arg("-I")
            .arg(repo().join("include"))
            .arg(src)
            .arg("-o")
            .arg(&exe)
            .arg("-pthread")
            .arg(format!("-L{}", lib.display()))
            .arg("-lworker")
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .arg(format!("-Wl,-rpath,{}", v8_lib_dir())),
    );
    exe
}

/// Runs a C program under the checker; fails on a non-zero exit, a memory error or a leak.
fn run_checked(exe: &Path, checker: Checker) -> String {
    let mut cmd = match checker {
        Checker::Asan => {
            let mut c = Command::new(exe);
            c.env(
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:exitcode=23",
            );
            c
        }
        Checker::Valgrind => {
            let mut c = Command::new("valgrind");
            c.args([
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "--error-exitcode=23",
                "--quiet",
            ])
            .arg(exe);
            c
        }
    };
    let out = run(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success()
            && !stderr.contains("ERROR: AddressSanitizer")
            && !stderr.contains("ERROR: LeakSanitizer"),
        "{} under {checker:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        exe.display(),
        out.status
    );
    stdout
}

#[test]
fn header_compiles_as_strict_c99_and_cpp() {
    require("gcc");
    require("g++");
    let include = repo().join("include");
    let check = repo().join("tests/c/header_check.c");
    let obj = scratch().join("header_check.o");
    for std in ["-std=c99", "-std=c11"] {
        run_ok(
            Command::new("gcc")
                .args([std, "-pedantic", "-Wall", "-Wextra", "-Werror", "-c"])
                .arg("-I")
                .arg(&include)
                .arg(&check)
                .arg("-o")
                .arg(&obj),
        );
    }
    for std in ["-std=c++11", "-std=c++17"] {
        run_ok(
            Command::new("g++")
                .args(["-x", "c++", std, "-Wall", "-Wextra", "-Werror", "-c"])
                .arg("-I")
                .arg(&include)
                .arg(&check)
                .arg("-o")
                .arg(&obj),
        );
    }
}

#[test]
fn hello_example_runs_clean() {
    let checker = checker();
    // Through the example's own Makefile, as a user would build it.
    require("make");
    let exe = scratch().join(format!("hello-{checker:?}"));
    let mut flags = cflags(checker).join(" ");
    flags.push_str(" -pthread");
    let ldflags = if checker == Checker::Asan {
        "-fsanitize=address"
    } else {
        ""
    };
    let profile = lib_dir().file_name().unwrap().to_str().unwrap().to_string();
    run_ok(
        Command::new("make")
            .arg("-B")
            .arg("-C")
            .arg(repo().join("examples/c"))
            .arg(format!("OUT={}", exe.display()))
            .arg(format!("CFLAGS={flags}"))
            .arg(format!("LDFLAGS={ldflags}"))
            .arg(format!("LIBDIR={}", lib_dir().display()))
            .arg(format!("PROFILE={profile}"))
            .arg(format!("V8_LIBDIR={}", v8_lib_dir())),
    );
    let out = run_checked(&exe, checker);
    assert!(out.starts_with("status: 200"), "{out}");
    assert!(
        out.contains("set-cookie: session=1\nset-cookie: theme=dark\n"),
        "{out}"
    );
    assert!(
        out.contains("content-type: text/plain; charset=utf-8"),
        "{out}"
    );
    assert!(out.ends_with("\nHello, world!\n"), "{out}");
}

/// Builds `tests/c/<name>.c` against libworker and runs it under the leak checker.
fn run_c_test(name: &str) {
    let checker = checker();
    let exe = build_c(&repo().join(format!("tests/c/{name}.c")), name, checker);
    let out = run_checked(&exe, checker);
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

#[test]
fn c_abi_tests_run_clean() {
    run_c_test("test_abi");
}

#[test]
fn c_d1_tests_run_clean() {
    run_c_test("test_d1");
}

#[test]
fn c_assets_tests_run_clean() {
    run_c_test("test_assets");
}

#[test]
fn c_queue_tests_run_clean() {
    run_c_test("test_queue");
}

#[test]
fn c_project_tests_run_clean() {
    run_c_test("test_project");
}

#[test]
fn c_cache_tests_run_clean() {
    run_c_test("test_cache");
}

#[test]
fn c_r2_tests_run_clean() {
    run_c_test("test_r2");
}

#[test]
fn static_library_links() {
    require("gcc");
    let lib = lib_dir();
    let v8 = v8_lib_dir();
    let exe = scratch().join("hello-static");
    run_ok(
        Command::new("gcc")
            .args(["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"])
            .arg("-I")
            .arg(repo().join("include"))
            .arg(repo().join("examples/c/hello.c"))
            .arg(lib.join("libworker.a"))
            .arg("-o")
            .arg(&exe)
            .arg(format!("-L{v8}"))
            .args(["-lnode", "-lstdc++", "-lpthread", "-ldl", "-lm"])
            .arg(format!("-Wl,-rpath,{v8}")),
    );
    let out = run_ok(&mut Command::new(&exe));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Hello, world!"), "{text}");
}
