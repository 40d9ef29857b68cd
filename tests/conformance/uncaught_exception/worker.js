// An exception escaping the handler is a 500 for that request only; the worker keeps serving.
function deep() {
  throw new Error("boom from deep()");
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/throw") deep();
    if (url.pathname === "/type-error") {
      const o = undefined;
      return new Response(o.missing);
    }
    if (url.pathname === "/reject") {
      await new Promise((r) => setTimeout(r, 1));
      throw new RangeError("async failure");
    }
    if (url.pathname === "/not-a-response") return "just a string";
    if (url.pathname === "/nothing") return;
    return new Response("still alive");
  },
};
