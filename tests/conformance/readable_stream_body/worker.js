// Streaming response bodies built from a ReadableStream controller, and reading a request
// body through its reader.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const enc = new TextEncoder();
    if (url.pathname === "/start") {
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(enc.encode("chunk1,"));
          controller.enqueue(enc.encode("chunk2,"));
          controller.enqueue(enc.encode("chunk3"));
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/plain" } });
    }
    if (url.pathname === "/pull") {
      let i = 0;
      const stream = new ReadableStream({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, 1));
          i++;
          controller.enqueue(enc.encode(`${i};`));
          if (i === 5) controller.close();
        },
      });
      return new Response(stream);
    }
    if (url.pathname === "/reader") {
      const reader = request.body.getReader();
      let total = 0;
      let text = "";
      const dec = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        text += dec.decode(value, { stream: true });
      }
      text += dec.decode();
      return Response.json({ total, text, isStream: request.body instanceof ReadableStream });
    }
    if (url.pathname === "/response-body") {
      // A Response's own body is a stream too.
      const body = new Response("abc").body;
      const { value } = await body.getReader().read();
      return Response.json({ first: Array.from(value), isStream: body instanceof ReadableStream });
    }
    return new Response("not found", { status: 404 });
  },
};
