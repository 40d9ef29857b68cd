// metrics(), sendBatch() and the consumer's MessageBatch: batch.queue, the messages' id / timestamp / body /
// attempts, the batch methods, and max_batch_size (3 here): 7 messages sent together arrive in
// batches of at most 3.
const batches = [];
let sentAt = 0;

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/send") {
      sentAt = Date.now();
      // metrics(): the queue's backlog (values vary; checked by type).
      const m = await env.QUEUE.metrics();
      const r = await env.QUEUE.sendBatch([
        { body: { n: 1 } },
        { body: "two", contentType: "text" },
        { body: { n: 3 }, contentType: "json" },
        { body: new Uint8Array([4]), contentType: "bytes" },
        { body: { n: 5 }, contentType: "v8" },
        { body: 6 },
        { body: [7] },
      ]);
      return Response.json({
        queueMetrics: ["backlogCount", "backlogBytes"].map((k) => typeof m[k]),
        returnType: typeof r,
        metadataKeys: Object.keys(r?.metadata ?? {}),
        metrics: ["backlogCount", "backlogBytes"].map((k) => typeof r?.metadata?.metrics?.[k]),
      });
    }
    if (pathname === "/batches") {
      const all = batches.flatMap((b) => b.messages);
      const bodies = all.map((m) => m.body).sort();
      return Response.json({
        // Batches hold at most max_batch_size (3) messages, and messages sent together are
        // grouped (at least one full batch) rather than delivered one by one.
        total: all.length,
        withinMaxBatchSize: batches.every((b) => b.size <= 3),
        someBatchFull: batches.some((b) => b.size === 3),
        queues: [...new Set(batches.map((b) => b.queue))],
        batchShape: batches[0] && batches[0].shape,
        bodies,
        attempts: [...new Set(all.map((m) => m.attempts))],
        idsUnique: new Set(all.map((m) => m.id)).size === all.length,
        idTypes: [...new Set(all.map((m) => m.idType))],
        timestampsAreDates: all.every((m) => m.timestampIsDate),
        timestampsNearSend: all.every((m) => Math.abs(m.timestamp - sentAt) < 10000),
      });
    }
    return new Response("not found", { status: 404 });
  },
  async queue(batch, env, ctx) {
    const msg = batch.messages[0];
    batches.push({
      queue: batch.queue,
      size: batch.messages.length,
      shape: {
        messagesIsArray: Array.isArray(batch.messages),
        batchMethods: ["ackAll", "retryAll"].map((m) => typeof batch[m]),
        messageMethods: ["ack", "retry"].map((m) => typeof msg[m]),
        ctxWaitUntil: typeof ctx.waitUntil,
      },
      messages: batch.messages.map((m) => ({
        id: m.id,
        idType: typeof m.id,
        timestampIsDate: m.timestamp instanceof Date,
        timestamp: m.timestamp.getTime(),
        attempts: m.attempts,
        body: m.body instanceof ArrayBuffer ? `bytes:${new Uint8Array(m.body)}` : JSON.stringify(m.body),
      })),
    });
  },
};
