//! Runs a Cloudflare-style module worker with libworker from Zig. The worker's KV namespace
//! `env.MY_KV` is the Zig store in MemoryKv.zig; libworker's C ABI comes in as the module
//! "worker", which build.zig generates from worker.h with translate-c.
const std = @import("std");
const wk = @import("worker");
const MemoryKv = @import("MemoryKv.zig");

const worker_js =
    \\export default {
    \\  async fetch(request, env) {
    \\    const url = new URL(request.url);
    \\    if (url.pathname === '/fill') {
    \\      // Write until the store refuses: its error rejects the put's promise.
    \\      let error = null;
    \\      try {
    \\        for (let i = 0; i < 100; i++) await env.MY_KV.put(`fill:${i}`, 'x');
    \\      } catch (e) {
    \\        error = e.message;
    \\      }
    \\      const filled = await env.MY_KV.list({ prefix: 'fill:' });
    \\      await Promise.all(filled.keys.map((k) => env.MY_KV.delete(k.name)));
    \\      return Response.json({ stored: filled.keys.length, error }, { status: 507 });
    \\    }
    \\    const name = url.searchParams.get('name') ?? 'world';
    \\    const visits = Number((await env.MY_KV.get('visits')) ?? 0) + 1;
    \\    await env.MY_KV.put('visits', String(visits));
    \\    await env.MY_KV.put(`greeting:${name}`, `hello ${name}`, {
    \\      metadata: { by: 'zig' },
    \\      expirationTtl: 3600,
    \\    });
    \\    const { value, metadata } = await env.MY_KV.getWithMetadata(`greeting:${name}`);
    \\    // One key per page, to follow the store's cursors.
    \\    const greetings = [];
    \\    let page = { list_complete: false };
    \\    while (!page.list_complete) {
    \\      page = await env.MY_KV.list({ prefix: 'greeting:', limit: 1, cursor: page.cursor });
    \\      for (const k of page.keys) greetings.push(`${k.name} (expires: ${k.expiration > Date.now() / 1000})`);
    \\    }
    \\    return Response.json({ visits, value, metadata, greetings });
    \\  },
    \\};
;

/// libworker's source loader: asked once per (site, deploy) for the worker's modules.
fn loadWorker(
    _: ?*anyopaque,
    site: [*c]const u8,
    site_len: usize,
    _: [*c]const u8,
    _: usize,
    out: ?*wk.wk_source_t,
) callconv(.c) wk.wk_status_t {
    if (!std.mem.eql(u8, site[0..site_len], "kv-demo")) {
        const msg = "unknown site";
        _ = wk.wk_source_set_error(out, msg, msg.len, null);
        return wk.WK_E_NOT_FOUND;
    }
    return wk.wk_source_add_module(out, "worker.js", 9, wk.WK_MODULE_ESM, worker_js, worker_js.len, null);
}

/// Turns a failed libworker call into a Zig error, printing (and freeing) libworker's error.
fn check(what: []const u8, status: wk.wk_status_t, err: ?*wk.wk_error_t) error{Libworker}!void {
    if (status == wk.WK_OK) return;
    defer wk.wk_error_free(err);
    const message = if (err) |e| std.mem.span(wk.wk_error_message(e)) else "(no details)";
    std.debug.print("{s} failed: {s}: {s}\n", .{ what, std.mem.span(wk.wk_status_name(status)), message });
    return error.Libworker;
}

/// Sends GET `path` to the worker and prints the response's status and body.
fn fetch(engine: ?*wk.wk_engine_t, env: ?*wk.wk_env_t, path: []const u8, out: *std.Io.Writer) !void {
    var url_buf: [256]u8 = undefined;
    const url = try std.fmt.bufPrint(&url_buf, "https://example.com{s}", .{path});
    var err: ?*wk.wk_error_t = null;
    var request: ?*wk.wk_request_t = null;
    try check("wk_request_new", wk.wk_request_new("GET", 3, url.ptr, url.len, &request, &err), err);
    defer wk.wk_request_free(request);

    var response: ?*wk.wk_response_t = null;
    const status = wk.wk_execute(engine, "kv-demo", 7, "v1", 2, env, request, &response, &err);
    defer wk.wk_response_free(response);
    try check("wk_execute", status, err);

    var body: [*c]const u8 = null;
    var body_len: usize = 0;
    try check("wk_response_body", wk.wk_response_body(response, &body, &body_len), null);
    try out.print("GET {s} -> {d}\n{s}\n", .{
        path,
        wk.wk_response_status(response),
        if (body_len == 0) "" else body[0..body_len],
    });
}

pub fn main(init: std.process.Init) !void {
    // A leak-checking allocator of the example's own (`init.gpa` reports leaks but still exits
    // 0): a store that libworker never handed back to MemoryKv.destroy fails the run.
    var debug_allocator: std.heap.DebugAllocator(.{}) = .init;
    try run(debug_allocator.allocator(), init.io);
    if (debug_allocator.deinit() == .leak) return error.MemoryLeaked;
}

fn run(gpa: std.mem.Allocator, io: std.Io) !void {
    var stdout_buf: [4096]u8 = undefined;
    var stdout: std.Io.File.Writer = .init(.stdout(), io, &stdout_buf);
    const out = &stdout.interface;

    if (wk.wk_abi_version() != wk.WK_ABI_VERSION) {
        std.debug.print("libworker has ABI {d}, worker.h {d}\n", .{ wk.wk_abi_version(), wk.WK_ABI_VERSION });
        return error.AbiMismatch;
    }

    var err: ?*wk.wk_error_t = null;
    var options: wk.wk_engine_options_t = .{};
    try check("wk_engine_options_init", wk.wk_engine_options_init(&options), null);
    options.pool_size = 2;
    const loader: wk.wk_source_loader_vtable_t = .{
        .struct_size = @sizeOf(wk.wk_source_loader_vtable_t),
        .load = loadWorker,
    };
    var engine: ?*wk.wk_engine_t = null;
    try check("wk_engine_new", wk.wk_engine_new(&options, &loader, null, null, &engine, &err), err);
    defer wk.wk_engine_free(engine);

    var env: ?*wk.wk_env_t = null;
    try check("wk_env_new", wk.wk_env_new(&env, &err), err);
    defer wk.wk_env_free(env);
    const kv = try MemoryKv.create(gpa, io, 8);
    // From here libworker owns the store: it calls MemoryKv.destroy once nothing uses it,
    // also when this call fails.
    try check("wk_env_add_kv", wk.wk_env_add_kv(env, "MY_KV", 5, &MemoryKv.vtable, kv, MemoryKv.destroy, &err), err);

    for ([_][]const u8{ "/?name=ada", "/?name=zig", "/fill" }) |path| {
        try fetch(engine, env, path, out);
    }
    try out.print("the Zig store holds {d} keys\n", .{kv.count()});
    try out.flush();
}
