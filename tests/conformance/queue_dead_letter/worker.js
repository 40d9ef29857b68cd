// max_retries and dead-letter queues. The consumer of "jobs" fails every message it gets except
// "succeeds-second-time", which succeeds on its second attempt. After max_retries (2) retries, i.e.
// 3 attempts, a failing message moves to "jobs-dlq" (consumed by the same worker) with its body,
// id and timestamp, starting again at attempt 1. Without a dead-letter queue ("drop-q",
// max_retries 0) the message is dropped after one attempt. "defaults-q" sets no max_retries: the
// documented default is 3 retries (4 attempts).
const log = [];
const ids = {};

export default {
  async fetch(request, env) {
    const { pathname, searchParams } = new URL(request.url);
    if (pathname === "/send") {
      await env.JOBS.send({ job: "always-fails" });
      await env.JOBS.send({ job: "succeeds-second-time" });
      await env.DROP.send({ job: "dropped" });
      await env.DEFAULTS.send({ job: "default-retries" });
      return new Response("sent");
    }
    if (pathname === "/log") {
      const q = searchParams.get("q");
      return Response.json(log.filter((e) => e.queue === q).map((e) => `${e.job}#${e.attempts}`).sort());
    }
    if (pathname === "/dlq-message") {
      const d = log.find((e) => e.queue === "jobs-dlq");
      const firstAttempt = log.find((e) => e.queue === "jobs" && e.job === d.job);
      return Response.json({
        body: d.body,
        attempts: d.attempts,
        sameIdAsOriginal: d.id === firstAttempt.id,
        sameTimestampAsOriginal: d.timestamp === firstAttempt.timestamp,
      });
    }
    return new Response("not found", { status: 404 });
  },
  async queue(batch) {
    for (const m of batch.messages) {
      log.push({ queue: batch.queue, job: m.body.job, attempts: m.attempts, id: m.id, timestamp: m.timestamp.getTime(), body: m.body });
      if (batch.queue === "jobs-dlq") m.ack();
      else if (m.body.job === "succeeds-second-time" && m.attempts === 2) m.ack();
      else m.retry();
    }
  },
};
