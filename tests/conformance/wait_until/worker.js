// ctx.waitUntil: work that outlives the response still runs to completion. The first request
// schedules it; a later request (same isolate) observes its effect.
let completed = [];

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/schedule") {
      const id = url.searchParams.get("id");
      ctx.waitUntil(
        new Promise((resolve) => setTimeout(resolve, 20)).then(() => {
          completed.push(id);
        }),
      );
      return new Response(`scheduled ${id}`);
    }
    if (url.pathname === "/types") {
      return Response.json({ waitUntil: typeof ctx.waitUntil, passThrough: typeof ctx.passThroughOnException });
    }
    return Response.json({ completed });
  },
};
