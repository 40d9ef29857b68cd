// KV key rules: "", "." and ".." are rejected before any request is made (TypeError); keys over
// 512 UTF-8 bytes are rejected by the backend (414) for every operation; any other string is a
// valid key, including ones full of URL syntax, which must not be confused with each other.
async function attempt(fn) {
  try {
    const value = await fn();
    return { ok: value === undefined ? "undefined" : value };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

export default {
  async fetch(request, env) {
    const KV = env.KV;
    const long = "k".repeat(513);
    const multiByte = "é".repeat(257); // 257 characters, 514 bytes
    const max = "m".repeat(512);

    const reserved = {};
    for (const [label, key] of [["empty", ""], ["dot", "."], ["dotdot", ".."]]) {
      reserved[label] = {
        get: await attempt(() => KV.get(key)),
        getWithMetadata: await attempt(() => KV.getWithMetadata(key)),
        put: await attempt(() => KV.put(key, "v")),
        delete: await attempt(() => KV.delete(key)),
      };
    }

    const tooLong = {
      get: await attempt(() => KV.get(long)),
      getWithMetadata: await attempt(() => KV.getWithMetadata(long)),
      put: await attempt(() => KV.put(long, "v")),
      delete: await attempt(() => KV.delete(long)),
      listPrefix: await attempt(() => KV.list({ prefix: long })),
      multiByteGet: await attempt(() => KV.get(multiByte)),
      multiByteChars: multiByte.length,
    };

    await KV.put(max, "512 bytes is fine");
    const maxKey = { get: await KV.get(max), listed: (await KV.list({ prefix: "m" })).keys.map((k) => k.name.length) };

    // Keys full of URL syntax are distinct keys and come back verbatim.
    const tricky = ["a/b", "a%2Fb", "a b", "a+b", "a?b=c", "a#b", "a%", "...", "./x", "x/..", "line\nbreak", "tab\tkey", "ключ", "🔑", "%00"];
    for (const [i, key] of tricky.entries()) await KV.put(key, `value ${i}`);
    const roundTrip = {};
    for (const key of tricky) roundTrip[key] = await KV.get(key);
    const listed = (await KV.list()).keys.map((k) => k.name).filter((n) => n !== max);

    return Response.json({ reserved, tooLong, maxKey, roundTrip, listed });
  },
};
