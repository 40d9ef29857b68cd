//! `zig build run` builds and runs the example against libworker.
//!
//!   zig build run                          # the repo's build: include/ + target/debug
//!   zig build run -Dprofile=release        # ... target/release
//!   zig build run -Dlibworker=/usr/local   # an install made by scripts/install.sh
//!
//! worker.h becomes a Zig module (`@import("worker")`) through translate-c at build time, so
//! the bindings always match the header they are compiled with.
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const profile = b.option([]const u8, "profile", "cargo profile of the repo's build (debug)") orelse "debug";
    const prefix = b.option([]const u8, "libworker", "install prefix of libworker (default: this repo's build)");

    // Where worker.h and libworker.so are, as absolute paths: the library's directory is also
    // recorded in the program (RUNPATH), which must not depend on the directory it runs from.
    const root = if (prefix) |p| realPath(b, std.Io.Dir.cwd(), p) else realPath(b, b.root.root_dir.handle, b.pathJoin(&.{ b.root.subPathOrDot(), "../.." }));
    const header = b.pathJoin(&.{ root, "include", "worker.h" });
    const libdir = if (prefix != null) b.pathJoin(&.{ root, "lib" }) else b.pathJoin(&.{ root, "target", profile });

    const worker = b.addTranslateC(.{
        .root_source_file = b.graph.cwdRelativePath(header),
        .target = target,
        .optimize = optimize,
    });

    const exe = b.addExecutable(.{
        .name = "kv-example",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/main.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .imports = &.{.{ .name = "worker", .module = worker.createModule() }},
        }),
    });
    exe.root_module.addLibraryPath(b.graph.cwdRelativePath(libdir));
    // The program finds libworker where it was linked; libworker finds libnode (V8) itself.
    exe.root_module.addRPathSpecial(libdir);
    exe.root_module.linkSystemLibrary("worker", .{ .use_pkg_config = .no });
    b.installArtifact(exe);

    const run = b.addRunArtifact(exe);
    b.step("run", "Run the example").dependOn(&run.step);
}

fn realPath(b: *std.Build, dir: std.Io.Dir, sub_path: []const u8) []const u8 {
    return dir.realPathFileAlloc(b.graph.io, sub_path, b.graph.arena) catch |err|
        std.debug.panic("cannot resolve {s}: {t}", .{ sub_path, err });
}
