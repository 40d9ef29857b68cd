// Hello world in module syntax, with two extra routes that show env vars and request echo.
import { describe } from "./describe.js";

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/json") {
      return Response.json({ greeting: env.GREETING, features: env.FEATURES, runtime: navigator.userAgent });
    }
    if (url.pathname === "/echo") {
      return new Response(describe(request, await request.text()), {
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    return new Response(`${env.GREETING} World!\n`);
  },
};
