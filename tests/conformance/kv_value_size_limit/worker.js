// KV values are limited to 25 MiB (26,214,400 bytes): exactly the limit is stored, one byte more
// is a 413 from the backend, whether the value is a string, a typed array or a stream of
// unknown length. A rejected put leaves the previous value in place.
const LIMIT = 25 * 1024 * 1024;

async function attempt(fn) {
  try {
    const value = await fn();
    return { ok: value === undefined ? "undefined" : value };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

function chunkedStream(total, chunk = 1024 * 1024) {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(chunk, total - sent);
      sent += n;
      c.enqueue(new Uint8Array(n).fill(120));
    },
  });
}

export default {
  async fetch(request, env) {
    const KV = env.KV;
    await KV.put("big", "previous");
    const out = {
      stringOver: await attempt(() => KV.put("big", "x".repeat(LIMIT + 1))),
      bytesOver: await attempt(() => KV.put("big", new Uint8Array(LIMIT + 1))),
      // With a stream of unknown length the backend may stop counting at the limit, so only the
      // status is asserted.
      streamOver: await attempt(() => KV.put("big", chunkedStream(LIMIT + 1))).then((r) => ({
        name: r.name,
        status413: typeof r.message === "string" && r.message.startsWith("KV PUT failed: 413 "),
      })),
      previousKept: await KV.get("big"),
      exactlyLimit: await attempt(() => KV.put("big", new Uint8Array(LIMIT).fill(121))),
    };
    const stored = await KV.get("big", "arrayBuffer");
    out.storedLength = stored.byteLength;
    out.streamAtLimit = await attempt(() => KV.put("streamed", chunkedStream(LIMIT)));
    out.streamedLength = (await KV.get("streamed", "arrayBuffer")).byteLength;
    return Response.json(out);
  },
};
