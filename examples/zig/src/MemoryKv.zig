//! A KV namespace kept in a Zig hash map: the host side of `env.MY_KV`.
//!
//! libworker calls these functions on its executor threads, several at once, so each takes the
//! mutex. Every answer is at hand, so each settles its completion before returning; a store
//! that waits on a network would settle it later, from any thread. libworker has already
//! applied Cloudflare's rules to keys, values, metadata and expiry: the store only keeps bytes.
const MemoryKv = @This();

const std = @import("std");
const wk = @import("worker");

gpa: std.mem.Allocator,
io: std.Io,
/// A host policy, to show a store's error reaching the worker: `put` of a new key fails once
/// the store holds this many.
max_keys: usize,
mutex: std.Io.Mutex = .init,
entries: std.StringHashMapUnmanaged(Entry) = .empty,

const Entry = struct {
    value: []u8,
    /// JSON text as the worker gave it, or null for none.
    metadata: ?[]u8,
    /// Seconds since the UNIX epoch; 0 for never.
    expiration: u64,

    fn free(entry: Entry, gpa: std.mem.Allocator) void {
        gpa.free(entry.value);
        if (entry.metadata) |m| gpa.free(m);
    }
};

/// What `wk_env_add_kv` takes; libworker copies it.
pub const vtable: wk.wk_kv_vtable_t = .{
    .struct_size = @sizeOf(wk.wk_kv_vtable_t),
    .get = get,
    .put = put,
    .remove = remove,
    .list = list,
};

pub fn create(gpa: std.mem.Allocator, io: std.Io, max_keys: usize) !*MemoryKv {
    const kv = try gpa.create(MemoryKv);
    kv.* = .{ .gpa = gpa, .io = io, .max_keys = max_keys };
    return kv;
}

/// libworker's `user_data_free`: called once, when no env or worker uses the store any more.
pub fn destroy(user_data: ?*anyopaque) callconv(.c) void {
    const kv = from(user_data);
    var it = kv.entries.iterator();
    while (it.next()) |e| {
        kv.gpa.free(e.key_ptr.*);
        e.value_ptr.free(kv.gpa);
    }
    kv.entries.deinit(kv.gpa);
    kv.gpa.destroy(kv);
}

/// How many keys the store holds, expired ones included.
pub fn count(kv: *MemoryKv) usize {
    kv.mutex.lockUncancelable(kv.io);
    defer kv.mutex.unlock(kv.io);
    return kv.entries.count();
}

fn from(user_data: ?*anyopaque) *MemoryKv {
    return @ptrCast(@alignCast(user_data.?));
}

/// A borrowed C buffer as a slice; C may pass NULL for an empty one.
fn bytes(ptr: [*c]const u8, len: usize) []const u8 {
    return if (len == 0) "" else ptr[0..len];
}

fn isLive(kv: *MemoryKv, entry: Entry) bool {
    const now = std.Io.Clock.real.now(kv.io).toSeconds();
    return entry.expiration == 0 or entry.expiration > now;
}

/// Settling only fails for a NULL or already settled completion, which would be a bug here.
fn settled(status: wk.wk_status_t) void {
    std.debug.assert(status == wk.WK_OK);
}

fn reject(c: ?*wk.wk_completion_t, message: []const u8) void {
    settled(wk.wk_completion_reject(c, message.ptr, message.len));
}

fn get(user_data: ?*anyopaque, key: [*c]const u8, key_len: usize, c: ?*wk.wk_completion_t) callconv(.c) void {
    const kv = from(user_data);
    kv.mutex.lockUncancelable(kv.io);
    defer kv.mutex.unlock(kv.io);
    const entry = kv.entries.get(bytes(key, key_len)) orelse return settled(wk.wk_completion_resolve_null(c));
    if (!kv.isLive(entry)) return settled(wk.wk_completion_resolve_null(c));
    // libworker copies the bytes before this returns, so the lock covers their lifetime.
    const metadata = entry.metadata orelse "";
    settled(wk.wk_completion_resolve_kv(
        c,
        entry.value.ptr,
        entry.value.len,
        if (entry.metadata == null) null else metadata.ptr,
        metadata.len,
        entry.expiration,
    ));
}

fn put(
    user_data: ?*anyopaque,
    key: [*c]const u8,
    key_len: usize,
    value: [*c]const u8,
    value_len: usize,
    metadata: [*c]const u8,
    metadata_len: usize,
    expiration: u64,
    c: ?*wk.wk_completion_t,
) callconv(.c) void {
    const kv = from(user_data);
    const meta = if (metadata == null) null else bytes(metadata, metadata_len);
    kv.store(bytes(key, key_len), bytes(value, value_len), meta, expiration) catch |err| {
        var buf: [96]u8 = undefined;
        return reject(c, switch (err) {
            error.StoreFull => std.fmt.bufPrint(&buf, "MY_KV is full: it holds at most {d} keys", .{kv.max_keys}) catch unreachable,
            error.OutOfMemory => "MY_KV: out of memory",
        });
    };
    settled(wk.wk_completion_resolve(c, null, 0));
}

fn store(kv: *MemoryKv, key: []const u8, value: []const u8, metadata: ?[]const u8, expiration: u64) error{ OutOfMemory, StoreFull }!void {
    // Copies first: the buffers are only borrowed for the call.
    const owned_value = try kv.gpa.dupe(u8, value);
    errdefer kv.gpa.free(owned_value);
    const owned_metadata: ?[]u8 = if (metadata) |m| try kv.gpa.dupe(u8, m) else null;
    errdefer if (owned_metadata) |m| kv.gpa.free(m);
    const entry: Entry = .{ .value = owned_value, .metadata = owned_metadata, .expiration = expiration };

    kv.mutex.lockUncancelable(kv.io);
    defer kv.mutex.unlock(kv.io);
    if (kv.entries.getPtr(key)) |old| {
        old.free(kv.gpa);
        old.* = entry;
        return;
    }
    if (kv.entries.count() >= kv.max_keys) return error.StoreFull;
    const owned_key = try kv.gpa.dupe(u8, key);
    errdefer kv.gpa.free(owned_key);
    try kv.entries.put(kv.gpa, owned_key, entry);
}

fn remove(user_data: ?*anyopaque, key: [*c]const u8, key_len: usize, c: ?*wk.wk_completion_t) callconv(.c) void {
    const kv = from(user_data);
    kv.mutex.lockUncancelable(kv.io);
    defer kv.mutex.unlock(kv.io);
    if (kv.entries.fetchRemove(bytes(key, key_len))) |old| {
        kv.gpa.free(old.key);
        old.value.free(kv.gpa);
    }
    settled(wk.wk_completion_resolve(c, null, 0));
}

fn list(
    user_data: ?*anyopaque,
    prefix: [*c]const u8,
    prefix_len: usize,
    limit: u32,
    cursor: [*c]const u8,
    cursor_len: usize,
    c: ?*wk.wk_completion_t,
) callconv(.c) void {
    const kv = from(user_data);
    const after = if (cursor == null) null else bytes(cursor, cursor_len);
    const json = kv.listJson(bytes(prefix, prefix_len), limit, after) catch
        return reject(c, "MY_KV: out of memory");
    defer kv.gpa.free(json);
    settled(wk.wk_completion_resolve(c, json.ptr, json.len));
}

fn lessThan(_: void, a: []const u8, b: []const u8) bool {
    return std.mem.lessThan(u8, a, b);
}

/// One page of live keys starting with `prefix`, in byte order, after the key named by
/// `cursor` (the last key of the previous page), in Cloudflare's JSON shape.
fn listJson(kv: *MemoryKv, prefix: []const u8, limit: u32, cursor: ?[]const u8) ![]u8 {
    kv.mutex.lockUncancelable(kv.io);
    defer kv.mutex.unlock(kv.io);

    var names: std.ArrayList([]const u8) = .empty;
    defer names.deinit(kv.gpa);
    var it = kv.entries.iterator();
    while (it.next()) |e| {
        const name = e.key_ptr.*;
        if (!std.mem.startsWith(u8, name, prefix) or !kv.isLive(e.value_ptr.*)) continue;
        if (cursor) |c| if (!lessThan({}, c, name)) continue;
        try names.append(kv.gpa, name);
    }
    std.mem.sort([]const u8, names.items, {}, lessThan);
    const page = names.items[0..@min(names.items.len, limit)];
    const complete = page.len == names.items.len;

    var out: std.Io.Writer.Allocating = .init(kv.gpa);
    defer out.deinit();
    var json: std.json.Stringify = .{ .writer = &out.writer };
    try json.beginObject();
    try json.objectField("keys");
    try json.beginArray();
    for (page) |name| {
        const entry = kv.entries.get(name).?;
        try json.beginObject();
        try json.objectField("name");
        try json.write(name);
        if (entry.expiration != 0) {
            try json.objectField("expiration");
            try json.write(entry.expiration);
        }
        if (entry.metadata) |m| {
            try json.objectField("metadata");
            try json.beginWriteRaw();
            try json.writer.writeAll(m);
            json.endWriteRaw();
        }
        try json.endObject();
    }
    try json.endArray();
    try json.objectField("list_complete");
    try json.write(complete);
    if (!complete) {
        try json.objectField("cursor");
        try json.write(page[page.len - 1]);
    }
    try json.endObject();
    return out.toOwnedSlice();
}
