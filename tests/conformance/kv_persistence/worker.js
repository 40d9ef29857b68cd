// KV state outlives the request that wrote it: a small REST store where PUT streams the request
// body straight into KV, and later requests read, overwrite, list and delete it.
// Keys come URL-encoded in the path, so keys with spaces, slashes and non-ASCII survive the trip.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/list") {
      const { keys, list_complete } = await env.KV.list();
      return Response.json({ names: keys.map((k) => k.name), list_complete });
    }
    if (!url.pathname.startsWith("/kv/")) return new Response("no route", { status: 404 });
    const key = decodeURIComponent(url.pathname.slice(4));
    switch (request.method) {
      case "PUT":
        // A zero-length body may arrive as null; store it as the empty value.
        await env.KV.put(key, request.body ?? "");
        return new Response(`stored ${key}`);
      case "DELETE":
        await env.KV.delete(key);
        return new Response(`deleted ${key}`);
      case "GET": {
        const type = url.searchParams.get("type") ?? "text";
        const value = await env.KV.get(key, type);
        if (value === null) return new Response(`no value for ${key}`, { status: 404 });
        return type === "json" ? Response.json({ parsed: value }) : new Response(value);
      }
    }
    return new Response("method not allowed", { status: 405 });
  },
};
