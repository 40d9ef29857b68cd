// Delays: send({delaySeconds}), sendBatch(..., {delaySeconds}) with a per-message override, a
// producer-level delivery_delay (1 s on DELAYED) that delaySeconds: 0 switches off, and
// retry({delaySeconds}). The first read (after ~0.3 s) sees only undelayed messages; the second
// (after ~1.8 s) sees everything.
const arrived = [];

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/send") {
      await env.QUEUE.send("now");
      await env.QUEUE.send("send-delay-1s", { delaySeconds: 1 });
      await env.QUEUE.sendBatch([{ body: "batch-delay-1s" }, { body: "batch-override-0", delaySeconds: 0 }], { delaySeconds: 1 });
      await env.QUEUE.send("retry-with-delay");
      await env.DELAYED.send("producer-default-delay");
      await env.DELAYED.send("producer-delay-overridden", { delaySeconds: 0 });
      return new Response("sent");
    }
    if (pathname === "/arrived") {
      return Response.json(arrived.map((a) => `${a.body}#${a.attempts}`).sort());
    }
    return new Response("not found", { status: 404 });
  },
  async queue(batch) {
    for (const m of batch.messages) {
      arrived.push({ body: m.body, attempts: m.attempts });
      if (m.body === "retry-with-delay" && m.attempts === 1) m.retry({ delaySeconds: 1 });
    }
  },
};
