// Per-message ack() and retry(): an acked message is not redelivered, a retried one comes back
// with attempts + 1 and the same id, body and timestamp; messages neither acked nor retried are
// acknowledged when the handler returns successfully.
const deliveries = [];
const firstSeen = {};

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/send") {
      await env.QUEUE.sendBatch([{ body: "ack-me" }, { body: "retry-twice" }, { body: "implicit-ack" }]);
      return new Response("sent");
    }
    if (pathname === "/deliveries") {
      const byBody = {};
      for (const d of deliveries) (byBody[d.body] ??= []).push(d.attempts);
      return Response.json({
        attemptsByBody: byBody,
        retriedKeepsId: deliveries.filter((d) => d.body === "retry-twice").every((d) => d.sameIdAsFirst),
        retriedKeepsTimestamp: deliveries.filter((d) => d.body === "retry-twice").every((d) => d.sameTimestampAsFirst),
      });
    }
    return new Response("not found", { status: 404 });
  },
  async queue(batch) {
    for (const msg of batch.messages) {
      firstSeen[msg.body] ??= { id: msg.id, ts: msg.timestamp.getTime() };
      deliveries.push({
        body: msg.body,
        attempts: msg.attempts,
        sameIdAsFirst: firstSeen[msg.body].id === msg.id,
        sameTimestampAsFirst: firstSeen[msg.body].ts === msg.timestamp.getTime(),
      });
      if (msg.body === "ack-me") msg.ack();
      if (msg.body === "retry-twice") {
        if (msg.attempts <= 2) msg.retry();
        else msg.ack();
      }
    }
  },
};
