// KV put(): every accepted value type (string, ArrayBuffer, ArrayBufferView, ReadableStream),
// WebIDL string conversion of primitives, the TypeError for anything else, overwriting, and
// delete().
async function attempt(fn) {
  try {
    const value = await fn();
    return { ok: value === undefined ? "undefined" : value };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

async function bytes(KV, key) {
  const ab = await KV.get(key, "arrayBuffer");
  return ab === null ? null : [...new Uint8Array(ab)];
}

export default {
  async fetch(request, env) {
    const KV = env.KV;
    const enc = new TextEncoder();
    const out = {};

    out.putResult = await attempt(() => KV.put("string", "plain text ✓"));
    out.string = await KV.get("string");

    await KV.put("arraybuffer", new Uint8Array([0, 1, 2, 254, 255]).buffer);
    out.arrayBuffer = await bytes(KV, "arraybuffer");

    // A view stores only its window onto the buffer.
    await KV.put("uint8array", new Uint8Array([10, 11, 12, 13, 14, 15]).subarray(2, 5));
    out.uint8ArrayView = await bytes(KV, "uint8array");
    await KV.put("dataview", new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2));
    out.dataView = await bytes(KV, "dataview");
    await KV.put("uint16", new Uint16Array([0x0102, 0x0304]));
    out.uint16Length = (await KV.get("uint16", "arrayBuffer")).byteLength;

    await KV.put("response-body", new Response("from a stream ✓").body);
    out.responseBodyStream = await KV.get("response-body");
    await KV.put(
      "chunked",
      new ReadableStream({
        start(c) {
          c.enqueue(enc.encode("one,"));
          c.enqueue(enc.encode("two,"));
          c.enqueue(enc.encode("three"));
          c.close();
        },
      }),
    );
    out.chunkedStream = await KV.get("chunked");
    await KV.put("empty", "");
    out.emptyString = { text: await KV.get("empty"), bytes: await bytes(KV, "empty") };

    // Primitives go through WebIDL string conversion.
    await KV.put("number", 42);
    await KV.put("boolean", true);
    await KV.put("null", null);
    out.primitives = { number: await KV.get("number"), boolean: await KV.get("boolean"), null: await KV.get("null") };

    out.objectValue = await attempt(() => KV.put("bad", { a: 1 }));
    out.blobValue = await attempt(() => KV.put("bad", new Blob(["x"])));
    out.stringChunkStream = await attempt(() =>
      KV.put("bad", new ReadableStream({ start(c) { c.enqueue("not bytes"); c.close(); } })),
    );
    out.badNotStored = await KV.get("bad");

    await KV.put("overwrite", "first");
    await KV.put("overwrite", "second");
    out.overwritten = await KV.get("overwrite");

    out.deleteResult = await attempt(() => KV.delete("overwrite"));
    out.afterDelete = await KV.get("overwrite");
    out.deleteMissing = await attempt(() => KV.delete("never-existed"));
    return Response.json(out);
  },
};
