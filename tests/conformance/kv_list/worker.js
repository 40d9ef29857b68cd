// KV list(): keys sorted by their UTF-8 bytes, prefix filtering, limit, the result's shape
// (cursor only while list_complete is false) and the errors for limit > 1000 and a prefix longer
// than a key may be.
async function attempt(fn) {
  try {
    const value = await fn();
    return { ok: value === undefined ? "undefined" : value };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

function shape(result) {
  return {
    names: result.keys.map((k) => k.name),
    list_complete: result.list_complete,
    hasCursor: typeof result.cursor === "string" && result.cursor.length > 0,
    fields: Object.keys(result).filter((f) => f !== "cacheStatus").sort(),
    cacheStatusOk: "cacheStatus" in result && (result.cacheStatus === null || typeof result.cacheStatus === "string"),
  };
}

export default {
  async fetch(request, env) {
    const KV = env.KV;
    // Byte order, not UTF-16 order: U+FF21 (EF BC A1) sorts before U+1F600 (F0 9F 98 80),
    // although its UTF-16 code unit is larger than the emoji's leading surrogate.
    const names = ["b", "a", "B", "aa", "a b", "a-b", "a/b", "~", "é", "\u00ff", "\u0100", "\uff21", "😀", "1", "10", "9"];
    for (const n of names) await KV.put(`item:${n}`, "v");
    await KV.put("other:1", "v");
    await KV.put("item", "exact prefix itself");

    return Response.json({
      all: shape(await KV.list()),
      prefixed: shape(await KV.list({ prefix: "item:" })),
      prefixOnlyMatchesStart: shape(await KV.list({ prefix: "1" })),
      noMatch: shape(await KV.list({ prefix: "zzz" })),
      limited: shape(await KV.list({ prefix: "item:", limit: 3 })),
      limitMax: shape(await KV.list({ prefix: "other:", limit: 1000 })),
      nullOptions: shape(await KV.list({ prefix: null, cursor: null })),
      emptyOptions: (await KV.list({})).keys.length,
      errors: {
        limitAbove1000: await attempt(() => KV.list({ limit: 1001 })),
        prefixTooLong: await attempt(() => KV.list({ prefix: "p".repeat(513) })),
      },
    });
  },
};
