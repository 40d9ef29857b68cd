// run_worker_first: true: every request runs the worker, even for paths that name a file. The
// worker answers some paths itself, refuses one file, and hands the rest to env.ASSETS.fetch(),
// marking what it passes through. The incoming request has redirect: "manual", so an asset
// redirect reaches the client as a 307 instead of being followed.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/api/")) {
      return Response.json({ from: "worker", path: url.pathname });
    }
    if (url.pathname === "/secret.txt") {
      return new Response("forbidden by worker", { status: 403 });
    }
    const asset = await env.ASSETS.fetch(request);
    const response = new Response(asset.body, asset);
    response.headers.set("x-served-by", "worker");
    return response;
  },
};
