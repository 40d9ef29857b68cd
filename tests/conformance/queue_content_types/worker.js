// Message bodies by content type. The producer sends one message per type in a single request;
// the consumer (this worker's queue handler) records what each body looks like on arrival, and a
// later request reads the records back. json is the default content type from 2024-03-18.
const received = [];

function describe(body) {
  if (body === null) return { type: "null" };
  if (body instanceof ArrayBuffer) return { type: "ArrayBuffer", bytes: [...new Uint8Array(body)] };
  if (body instanceof Date) return { type: "Date", iso: body.toISOString() };
  if (body instanceof Map) return { type: "Map", entries: [...body] };
  if (typeof body === "object") {
    return {
      type: Array.isArray(body) ? "Array" : "Object",
      json: JSON.stringify(body),
      fields: Object.fromEntries(Object.entries(body).map(([k, v]) => [k, v === undefined ? "undefined" : v === null ? "null" : v.constructor.name])),
    };
  }
  return { type: typeof body, value: body };
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/send") {
      const Q = env.QUEUE;
      const r = await Q.send({ kind: "default", n: 1, list: [1, "two"] });
      await Q.send({ kind: "json", nested: { ok: true } }, { contentType: "json" });
      await Q.send("a json string", { contentType: "json" });
      await Q.send(42);
      await Q.send("plain text", { contentType: "text" });
      await Q.send(new Uint8Array([1, 2, 3, 254]), { contentType: "bytes" });
      await Q.send(new DataView(new Uint8Array([7, 8]).buffer), { contentType: "bytes" });
      await Q.send(
        { kind: "v8", date: new Date("2020-02-02T00:00:00.000Z"), map: new Map([["k", 1]]), bytes: new Uint8Array([9]), undef: undefined },
        { contentType: "v8" },
      );
      await Q.send(new Date("2021-01-01T00:00:00.000Z"), { contentType: "v8" });
      await Q.send(null);
      // The default (json) serialises with JSON: a Date becomes a string, undefined fields vanish.
      await Q.send({ kind: "default-date", when: new Date("2022-03-04T05:06:07.000Z"), gone: undefined });
      return Response.json({
        sendReturn: typeof r,
        metadataKeys: Object.keys(r.metadata ?? {}),
        // Newer workerd reports backlog metrics with each send; oldestMessageTimestamp is optional.
        metrics: ["backlogCount", "backlogBytes"].map((k) => typeof r.metadata?.metrics?.[k]),
      });
    }
    if (pathname === "/received") {
      // Delivery order within a batch is not guaranteed: sort by the description.
      return Response.json([...received].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    }
    return new Response("not found", { status: 404 });
  },
  async queue(batch, env) {
    for (const msg of batch.messages) received.push(describe(msg.body));
  },
};
