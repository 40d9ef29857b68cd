// run_worker_first as a list of route patterns: matching paths run the worker even when a file
// exists; "!" patterns send paths straight to the assets (a miss there is a plain 404, the worker
// does not run); a pattern without "*" matches only that path; every other path behaves as with
// run_worker_first: false (the asset if one matches, else the worker).
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return new Response(`worker ${request.method} ${url.pathname}`, { headers: { "x-worker": "yes" } });
  },
};
