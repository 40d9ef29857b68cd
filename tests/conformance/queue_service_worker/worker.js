// Service-worker syntax: the producer binding is a global, and the consumer is a "queue" event
// listener whose event carries queue, messages, ackAll(), retryAll() and waitUntil().
let received = [];
let eventShape = null;

addEventListener("fetch", (event) => {
  event.respondWith(handle(event.request));
});

async function handle(request) {
  const { pathname } = new URL(request.url);
  if (pathname === "/send") {
    await QUEUE.send({ hello: "service worker" });
    await QUEUE.send("retry me");
    return new Response(`sent via ${typeof QUEUE.send}`);
  }
  return Response.json({ eventShape, received: received.sort() });
}

addEventListener("queue", (event) => {
  eventShape = {
    queue: event.queue,
    messagesIsArray: Array.isArray(event.messages),
    methods: ["ackAll", "retryAll", "waitUntil"].map((m) => typeof event[m]),
  };
  for (const m of event.messages) {
    received.push(`${JSON.stringify(m.body)}#${m.attempts}`);
    if (m.body === "retry me" && m.attempts === 1) m.retry();
  }
  event.waitUntil(Promise.resolve());
});
