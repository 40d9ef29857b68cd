// Not part of the project: wrangler.jsonc has no `main`, so no worker runs and every request is
// answered by the assets. (The Miniflare driver needs a script file; if this ever answered, the
// `x-worker` checks would fail.)
export default {
  fetch() {
    return new Response("worker", { headers: { "x-worker": "yes" } });
  },
};
