// In service-worker syntax a KV binding is a global named after the binding.
addEventListener("fetch", (event) => {
  event.respondWith(handle(event.request));
});

async function handle(request) {
  const url = new URL(request.url);
  if (request.method === "POST") {
    await NOTES.put("note", await request.text());
    return new Response("saved");
  }
  return Response.json({
    bindingType: typeof NOTES,
    methods: ["get", "getWithMetadata", "put", "delete", "list"].map((m) => `${m}:${typeof NOTES[m]}`),
    note: await NOTES.get("note"),
    path: url.pathname,
  });
}
