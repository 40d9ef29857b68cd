// Producer errors with their exact messages: invalid bodies for a content type, an unknown
// content type, an undefined body, an empty batch, and the size limits (one message at most
// 128 KB, one sendBatch at most 100 messages and 256 KB). Messages that were rejected are never
// delivered: the consumer counts what arrives.
const delivered = [];

async function attempt(fn) {
  try {
    await fn();
    return { ok: true };
  } catch (e) {
    return { name: e.name, message: e.message };
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const Q = env.QUEUE;
    if (pathname === "/type-errors") {
      return Response.json({
        undefinedBody: await attempt(() => Q.send(undefined)),
        noBody: await attempt(() => Q.send()),
        textNotString: await attempt(() => Q.send(123, { contentType: "text" })),
        bytesArrayBuffer: await attempt(() => Q.send(new ArrayBuffer(2), { contentType: "bytes" })),
        bytesString: await attempt(() => Q.send("abc", { contentType: "bytes" })),
        unknownContentType: await attempt(() => Q.send("x", { contentType: "xml" })),
        jsonUnserialisable: await attempt(() => Q.send({ f: () => 1, big: 1n }, { contentType: "json" })),
        v8Unserialisable: await attempt(() => Q.send({ f: () => 1 }, { contentType: "v8" })),
        emptyBatch: await attempt(() => Q.sendBatch([])),
        batchUndefinedBody: await attempt(() => Q.sendBatch([{ body: "ok" }, { body: undefined }])),
        batchBadContentType: await attempt(() => Q.sendBatch([{ body: 1, contentType: "text" }])),
      });
    }
    if (pathname === "/size-errors") {
      const KB = 1000;
      return Response.json({
        // 128 KB = 128,000 bytes; the encoded body plus some metadata counts toward it.
        message127KB: await attempt(() => Q.send("a".repeat(127 * KB), { contentType: "text" })),
        message129KB: await attempt(() => Q.send("a".repeat(129 * KB), { contentType: "text" })),
        bytes129KB: await attempt(() => Q.send(new Uint8Array(129 * KB), { contentType: "bytes" })),
        batch100: await attempt(() => Q.sendBatch(Array.from({ length: 100 }, (_, i) => ({ body: i })))),
        batch101: await attempt(() => Q.sendBatch(Array.from({ length: 101 }, (_, i) => ({ body: i })))),
        batchMessage129KB: await attempt(() => Q.sendBatch([{ body: "b".repeat(129 * KB), contentType: "text" }])),
        batchTotal300KB: await attempt(() => Q.sendBatch([0, 1, 2].map(() => ({ body: "c".repeat(100 * KB), contentType: "text" })))),
      });
    }
    if (pathname === "/delivered") {
      return Response.json({ count: delivered.length, largest: Math.max(...delivered) });
    }
    return new Response("not found", { status: 404 });
  },
  async queue(batch) {
    for (const m of batch.messages) delivered.push(typeof m.body === "string" ? m.body.length : 0);
  },
};
