// Whole-batch outcomes and the precedence rules between ack(), retry(), ackAll() and retryAll(),
// one queue each:
// - all-q: retryAll() on the first delivery redelivers every message; ackAll() on the second
//   ends it.
// - conflict-q: the first of ack()/retry() called on a message wins; the later call is ignored.
// - retry-all-q / ack-all-q: a call on a single message takes precedence over a later batch-level
//   ackAll()/retryAll().
// - throw-q: a handler that throws has the batch retried, except messages it explicitly acked.
// Both messages of a queue are sent with one sendBatch(); the checks hold whether they arrive in
// one batch or in two.
const seen = {};

export default {
  async fetch(request, env) {
    const { pathname, searchParams } = new URL(request.url);
    if (pathname === "/send") {
      await env.ALL_Q.sendBatch([{ body: "a1" }, { body: "a2" }]);
      await env.THROW_Q.sendBatch([{ body: "acked-before-throw" }, { body: "not-acked" }]);
      await env.CONFLICT_Q.sendBatch([{ body: "retry-then-ack" }, { body: "ack-then-retry" }]);
      await env.RETRY_ALL_Q.sendBatch([{ body: "acked" }, { body: "unmarked" }]);
      await env.ACK_ALL_Q.sendBatch([{ body: "retried" }, { body: "unmarked" }]);
      return new Response("sent");
    }
    if (pathname === "/seen") {
      // ?q=<queue>: the deliveries of that queue as "body#attempts", sorted.
      return Response.json((seen[searchParams.get("q")] ?? []).map((d) => `${d.body}#${d.attempts}`).sort());
    }
    return new Response("not found", { status: 404 });
  },
  async queue(batch) {
    for (const m of batch.messages) (seen[batch.queue] ??= []).push({ body: m.body, attempts: m.attempts });
    const firstAttempt = batch.messages.filter((m) => m.attempts === 1);
    if (batch.queue === "all-q") {
      if (firstAttempt.length) batch.retryAll();
      else batch.ackAll();
    } else if (batch.queue === "conflict-q") {
      for (const m of firstAttempt) {
        if (m.body === "retry-then-ack") {
          m.retry();
          m.ack();
        } else {
          m.ack();
          m.retry();
        }
      }
    } else if (batch.queue === "retry-all-q") {
      if (firstAttempt.length) {
        for (const m of firstAttempt) if (m.body === "acked") m.ack();
        batch.retryAll();
      }
    } else if (batch.queue === "ack-all-q") {
      for (const m of firstAttempt) if (m.body === "retried") m.retry();
      batch.ackAll();
    } else if (batch.queue === "throw-q") {
      if (firstAttempt.length) {
        for (const m of firstAttempt) if (m.body === "acked-before-throw") m.ack();
        throw new Error("consumer failed");
      }
    }
  },
};
