// KV bulk reads: get() and getWithMetadata() with an array of keys resolve to a Map, with null
// for missing keys. Only "text" and "json" are allowed, and 1..100 keys.
//
// The backend rejects bad bulk requests with a 400. The message is
// "KV GET_BULK failed: 400 <status text>"; the status text differs between Cloudflare's backend
// ("Bad Request") and Miniflare (a description), so only the prefix is asserted.
async function bulkError(fn) {
  try {
    await fn();
    return "no error";
  } catch (e) {
    return { name: e.name, status400: e.message.startsWith("KV GET_BULK failed: 400") };
  }
}

function describeMap(m) {
  return { isMap: m instanceof Map, size: m.size, entries: Object.fromEntries(m) };
}

export default {
  async fetch(request, env) {
    const KV = env.KV;
    await KV.put("user:1", JSON.stringify({ name: "Ada" }), { metadata: { role: "admin" } });
    await KV.put("user:2", JSON.stringify({ name: "Linus" }));
    await KV.put("plain", "not json");
    const hundred = Array.from({ length: 100 }, (_, i) => `k${i}`);
    await KV.put("k99", "last");

    const all100 = await KV.get(hundred);
    return Response.json({
      text: describeMap(await KV.get(["user:1", "user:2", "missing"])),
      textExplicit: describeMap(await KV.get(["user:2"], "text")),
      json: describeMap(await KV.get(["user:1", "user:2", "missing"], "json")),
      jsonOptions: describeMap(await KV.get(["user:1"], { type: "json", cacheTtl: 60 })),
      duplicateKeys: describeMap(await KV.get(["user:2", "user:2"])),
      hundredKeys: { size: all100.size, k0: all100.get("k0"), k99: all100.get("k99") },
      withMetadata: describeMap(await KV.getWithMetadata(["user:1", "user:2", "missing"])),
      withMetadataJson: describeMap(await KV.getWithMetadata(["user:1", "user:2"], "json")),
      errors: {
        tooManyKeys: await bulkError(() => KV.get([...hundred, "k100"])),
        tooManyKeysWithMetadata: await bulkError(() => KV.getWithMetadata([...hundred, "k100"])),
        noKeys: await bulkError(() => KV.get([])),
        arrayBufferType: await bulkError(() => KV.get(["plain"], "arrayBuffer")),
        streamType: await bulkError(() => KV.get(["plain"], "stream")),
        notJson: await bulkError(() => KV.get(["user:1", "plain"], "json")),
      },
    });
  },
};
