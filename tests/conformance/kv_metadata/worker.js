// KV metadata: stored with put(), returned by getWithMetadata() and list(), replaced (or cleared)
// by a later put, and limited to 1024 bytes of serialised JSON.
async function attempt(fn) {
  try {
    const value = await fn();
    return { ok: value === undefined ? "undefined" : value };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

// cacheStatus is null locally; at the edge it may be a string. Check its presence and type.
function strip(result) {
  const { cacheStatus, ...rest } = result;
  return { ...rest, cacheStatusOk: "cacheStatus" in result && (cacheStatus === null || typeof cacheStatus === "string") };
}

export default {
  async fetch(request, env) {
    const KV = env.KV;
    await KV.put("obj", JSON.stringify([1, 2]), { metadata: { owner: "ada", tags: ["x", "y"], n: 1.5, ok: true } });
    await KV.put("str", "v", { metadata: "just a string" });
    await KV.put("num", "v", { metadata: 7 });
    await KV.put("none", "v");

    const ab = await KV.getWithMetadata("obj", "arrayBuffer");
    const st = await KV.getWithMetadata("obj", { type: "stream" });
    const out = {
      text: strip(await KV.getWithMetadata("obj")),
      textKeys: Object.keys(await KV.getWithMetadata("obj")).sort(),
      json: strip(await KV.getWithMetadata("obj", "json")),
      jsonOptions: strip(await KV.getWithMetadata("obj", { type: "json", cacheTtl: 60 })),
      arrayBuffer: { byteLength: ab.value.byteLength, metadata: ab.metadata },
      stream: { text: await new Response(st.value).text(), metadata: st.metadata },
      stringMetadata: strip(await KV.getWithMetadata("str")),
      numberMetadata: strip(await KV.getWithMetadata("num")),
      noMetadata: strip(await KV.getWithMetadata("none")),
      missing: strip(await KV.getWithMetadata("missing")),
      missingJson: strip(await KV.getWithMetadata("missing", "json")),
    };

    // A put without metadata replaces the entry, metadata included.
    await KV.put("obj", "replaced");
    out.afterOverwrite = strip(await KV.getWithMetadata("obj"));
    await KV.put("str", "v2", { metadata: { v: 2 } });
    out.replacedMetadata = strip(await KV.getWithMetadata("str"));

    const listed = await KV.list();
    out.list = listed.keys;

    // The limit is on the serialised JSON, in UTF-8 bytes: "x" * 1022 plus two quotes is 1024.
    out.limits = {
      exactly1024: await attempt(() => KV.put("big", "v", { metadata: "x".repeat(1022) })),
      bytes1025: await attempt(() => KV.put("big2", "v", { metadata: "x".repeat(1023) })),
      object: await attempt(() => KV.put("big2", "v", { metadata: { s: "x".repeat(1020) } })),
      multiByte: await attempt(() => KV.put("big2", "v", { metadata: "é".repeat(512) })),
    };
    out.rejectedNotStored = await KV.get("big2");
    out.accepted = (await KV.getWithMetadata("big")).metadata.length;
    return Response.json(out);
  },
};
