//! `scripts/install.sh` as a C user meets it: after an install into a fresh prefix,
//! `cc $(pkg-config --cflags --libs worker) hello.c` builds, and the program runs from another
//! directory with no LD_LIBRARY_PATH, finding libworker and libnode inside the prefix. The static
//! library links through `pkg-config --static`; a second install changes nothing; a staged
//! (`--destdir`) install records the final prefix and still works after being moved.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn require(tool: &str, package: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{tool}` is required to test the install but was not found: install it \
         (Debian: apt-get install {package}, or run scripts/bootstrap.sh) and rerun"
    );
}

fn show(cmd: &Command, out: &Output) -> String {
    format!(
        "{cmd:?} ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "failed: {}", show(cmd, &out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A directory removed when the test ends, whether it passed or not.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("wk-install-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The cargo target directory and profile this test binary was built in
/// (`<target>/<profile>/deps/install-*`), so the install uses the same build.
fn target_and_profile() -> (PathBuf, &'static str) {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "debug",
        "release" => "release",
        other => panic!("scripts/install.sh installs debug or release builds, not `{other}`"),
    };
    (profile_dir.parent().unwrap().to_path_buf(), profile)
}

fn install_sh(args: &[&str]) -> Command {
    let (target, profile) = target_and_profile();
    let mut cmd = Command::new(repo().join("scripts/install.sh"));
    cmd.args(["--profile", profile])
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("DESTDIR");
    cmd
}

/// Whether the dynamic linker finds a system libnode, in which case nothing is bundled.
fn system_libnode() -> bool {
    let out = Command::new("/sbin/ldconfig").arg("-p").output();
    out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("libnode.so.108 "))
}

fn readelf_dynamic(file: &Path) -> String {
    run_ok(Command::new("readelf").arg("-d").arg(file))
}

/// `ldd`'s answer for one library of `exe`: the path it resolved to. Without LD_LIBRARY_PATH,
/// which cargo sets for tests (pointing at the build tree) and a user's shell would not have.
fn resolved(exe: &Path, lib: &str) -> String {
    let out = run_ok(Command::new("ldd").arg(exe).env_remove("LD_LIBRARY_PATH"));
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(lib))
        .unwrap_or_else(|| panic!("{} does not load {lib}:\n{out}", exe.display()));
    assert!(!line.contains("not found"), "{line}");
    line.split_whitespace().nth(2).unwrap().to_string()
}

/// Runs the example from a directory that is neither the prefix nor the repo, without
/// LD_LIBRARY_PATH, and checks what it printed.
fn runs_hello(exe: &Path, elsewhere: &Path) {
    let mut cmd = Command::new(exe);
    cmd.current_dir(elsewhere).env_remove("LD_LIBRARY_PATH");
    let out = run_ok(&mut cmd);
    assert!(out.starts_with("status: 200"), "{out}");
    assert!(
        out.contains("set-cookie: session=1\nset-cookie: theme=dark\n"),
        "{out}"
    );
    assert!(out.ends_with("\nHello, world!\n"), "{out}");
}

/// The installed files' modification times, to tell whether a second install touched them.
fn mtimes(prefix: &Path) -> Vec<(String, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![prefix.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.push((path.display().to_string(), meta.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn installed_prefix_builds_and_runs_c_programs_through_pkg_config() {
    require("cc", "gcc");
    require("pkg-config", "pkgconf");
    require("readelf", "binutils");
    let scratch = Scratch::new("prefix");
    let prefix = scratch.0.join("prefix");
    let elsewhere = scratch.0.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let first = run_ok(install_sh(&["--prefix", prefix.to_str().unwrap()]).current_dir(&elsewhere));
    assert!(first.contains("installed"), "{first}");

    // The layout, the soname and where the library looks for libnode.
    let lib = prefix.join("lib");
    assert_eq!(
        std::fs::read_link(lib.join("libworker.so")).unwrap(),
        Path::new("libworker.so.1")
    );
    assert!(lib.join("libworker.a").is_file());
    assert_eq!(
        std::fs::read(prefix.join("include/worker.h")).unwrap(),
        std::fs::read(repo().join("include/worker.h")).unwrap(),
        "the installed header differs from include/worker.h"
    );
    let dynamic = readelf_dynamic(&lib.join("libworker.so.1"));
    assert!(
        dynamic.contains("Library soname: [libworker.so.1]"),
        "{dynamic}"
    );
    if system_libnode() {
        assert!(!dynamic.contains("RUNPATH"), "{dynamic}");
        assert!(!lib.join("worker").exists());
    } else {
        assert!(
            dynamic.contains("Library runpath: [$ORIGIN/worker]"),
            "{dynamic}"
        );
        assert!(lib.join("worker/libnode.so.108").is_file());
    }

    // pkg-config answers from the prefix.
    let pc_path = lib.join("pkgconfig");
    let pkg_config = |args: &[&str]| {
        run_ok(
            Command::new("pkg-config")
                .args(args)
                .arg("worker")
                .env("PKG_CONFIG_PATH", &pc_path),
        )
        .trim()
        .to_string()
    };
    assert_eq!(pkg_config(&["--modversion"]), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        pkg_config(&["--cflags"]),
        format!("-I{}", prefix.join("include").display())
    );
    let libs = pkg_config(&["--libs"]);
    assert!(libs.contains(&format!("-L{}", lib.display())), "{libs}");
    assert!(libs.contains("-lworker"), "{libs}");

    // The shared library, with the flags before the source as people often write them.
    let hello = repo().join("examples/c/hello.c");
    let exe = scratch.0.join("hello");
    run_ok(
        Command::new("sh")
            .arg("-c")
            .arg(r#"cc $(pkg-config --cflags --libs worker) "$1" -o "$2""#)
            .args(["sh", hello.to_str().unwrap(), exe.to_str().unwrap()])
            .env("PKG_CONFIG_PATH", &pc_path)
            .current_dir(&elsewhere),
    );
    assert_eq!(
        resolved(&exe, "libworker.so.1"),
        lib.join("libworker.so.1").display().to_string()
    );
    if !system_libnode() {
        assert_eq!(
            resolved(&exe, "libnode.so.108"),
            lib.join("worker/libnode.so.108").display().to_string()
        );
    }
    runs_hello(&exe, &elsewhere);

    // The example's Makefile has a target for installed copies.
    require("make", "make");
    let exe_make = scratch.0.join("hello-make");
    run_ok(
        Command::new("make")
            .arg("-C")
            .arg(repo().join("examples/c"))
            .arg("installed")
            .arg(format!("OUT={}", exe_make.display()))
            .env("PKG_CONFIG_PATH", &pc_path),
    );
    runs_hello(&exe_make, &elsewhere);

    // The static library: nothing of libworker is loaded at run time.
    let exe_static = scratch.0.join("hello-static");
    run_ok(
        Command::new("sh")
            .arg("-c")
            .arg(
                r#"cc "$1" -o "$2" $(pkg-config --cflags worker) -Wl,-Bstatic $(pkg-config --static --libs worker)"#,
            )
            .args(["sh", hello.to_str().unwrap(), exe_static.to_str().unwrap()])
            .env("PKG_CONFIG_PATH", &pc_path)
            .current_dir(&elsewhere),
    );
    let dynamic = readelf_dynamic(&exe_static);
    assert!(!dynamic.contains("libworker"), "{dynamic}");
    assert!(dynamic.contains("[libnode.so.108]"), "{dynamic}");
    runs_hello(&exe_static, &elsewhere);

    // Installing again over an up-to-date prefix rewrites nothing (cgo builds rely on that).
    let before = mtimes(&prefix);
    let second = run_ok(&mut install_sh(&["--prefix", prefix.to_str().unwrap()]));
    assert!(second.contains("is up to date"), "{second}");
    assert!(!second.contains("installed "), "{second}");
    assert_eq!(before, mtimes(&prefix));
}

#[test]
fn destdir_install_records_the_final_prefix_and_is_relocatable() {
    require("cc", "gcc");
    require("pkg-config", "pkgconf");
    let scratch = Scratch::new("destdir");
    let destdir = scratch.0.join("stage");
    let final_prefix = "/opt/libworker-install-test";
    run_ok(&mut install_sh(&[
        "--destdir",
        destdir.to_str().unwrap(),
        "--prefix",
        final_prefix,
    ]));
    assert!(
        !Path::new(final_prefix).exists(),
        "a staged install wrote to the final prefix"
    );
    let staged = destdir.join(&final_prefix[1..]);
    let pc = std::fs::read_to_string(staged.join("lib/pkgconfig/worker.pc")).unwrap();
    assert!(pc.contains(&format!("\nprefix={final_prefix}\n")), "{pc}");

    // Moved somewhere else, the tree still works: libworker finds libnode through $ORIGIN.
    let moved = scratch.0.join("moved");
    std::fs::rename(&staged, &moved).unwrap();
    let lib = moved.join("lib");
    let exe = scratch.0.join("hello");
    run_ok(
        Command::new("cc")
            .arg(repo().join("examples/c/hello.c"))
            .arg("-o")
            .arg(&exe)
            .arg(format!("-I{}", moved.join("include").display()))
            .arg(format!("-L{}", lib.display()))
            .arg("-lworker")
            .arg(format!("-Wl,-rpath,{}", lib.display())),
    );
    if !system_libnode() {
        assert_eq!(
            resolved(&exe, "libnode.so.108"),
            lib.join("worker/libnode.so.108").display().to_string()
        );
    }
    runs_hello(&exe, &scratch.0);
}

#[test]
fn install_rejects_bad_arguments_before_building() {
    let cases: [(&[&str], &str); 4] = [
        (&["--bogus"], "unknown argument '--bogus'"),
        (&["--profile", "fast"], "--profile must be release or debug"),
        (&["--prefix"], "--prefix needs a directory"),
        (
            &["--destdir", "/tmp/x", "--prefix", "relative"],
            "--prefix must be absolute with --destdir",
        ),
    ];
    for (args, message) in cases {
        // --profile comes first from install_sh(); a later one overrides it.
        let mut cmd = install_sh(args);
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", show(&cmd, &out));
        assert!(stderr.contains(message), "{}", show(&cmd, &out));
    }
}
