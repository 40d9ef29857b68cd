// KV get(): the four value types, both the string and the options-object form, what a missing
// key gives for each type, and the errors for an unknown type, a too-small cacheTtl and a value
// that is not JSON.
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
    await KV.put("greeting", "héllo ✓");
    await KV.put("config", JSON.stringify({ debug: true, level: 3, tags: ["a", "b"] }));
    await KV.put("notjson", "{not json");

    const ab = await KV.get("greeting", "arrayBuffer");
    const stream = await KV.get("greeting", "stream");
    const streamObj = await KV.get("greeting", { type: "stream" });
    const abObj = await KV.get("greeting", { type: "arrayBuffer", cacheTtl: 60 });

    return Response.json({
      default: await KV.get("greeting"),
      text: await KV.get("greeting", "text"),
      textObj: await KV.get("greeting", { type: "text" }),
      emptyOptions: await KV.get("greeting", {}),
      cacheTtlOnly: await KV.get("greeting", { cacheTtl: 60 }),
      json: await KV.get("config", "json"),
      jsonObj: await KV.get("config", { type: "json", cacheTtl: 3600 }),
      jsonAsText: await KV.get("config"),
      arrayBuffer: {
        isArrayBuffer: ab instanceof ArrayBuffer,
        byteLength: ab.byteLength,
        bytes: [...new Uint8Array(ab)],
      },
      arrayBufferObj: { isArrayBuffer: abObj instanceof ArrayBuffer, byteLength: abObj.byteLength },
      stream: { isReadableStream: stream instanceof ReadableStream, text: await new Response(stream).text() },
      streamObj: { isReadableStream: streamObj instanceof ReadableStream, text: await new Response(streamObj).text() },
      missing: {
        default: await KV.get("missing"),
        text: await KV.get("missing", "text"),
        json: await KV.get("missing", "json"),
        arrayBuffer: await KV.get("missing", "arrayBuffer"),
        stream: await KV.get("missing", "stream"),
        options: await KV.get("missing", { type: "json", cacheTtl: 60 }),
      },
      errors: {
        unknownType: await attempt(() => KV.get("greeting", "blob")),
        unknownTypeObj: await attempt(() => KV.get("greeting", { type: "blob" })),
        cacheTtlTooSmall: await attempt(() => KV.get("greeting", { cacheTtl: 10 })),
        cacheTtlMinimum: await attempt(() => KV.get("greeting", { cacheTtl: 30 })),
        notJson: await attempt(async () => {
          try {
            return await KV.get("notjson", "json");
          } catch (e) {
            // The SyntaxError text is V8's; only the error type is part of the API.
            return { thrown: e.name };
          }
        }),
      },
    });
  },
};
