// request.formData() on an application/x-www-form-urlencoded body.
export default {
  async fetch(request) {
    const form = await request.formData();
    return Response.json({
      name: form.get("name"),
      tags: form.getAll("tag"),
      empty: form.get("empty"),
      missing: form.get("missing"),
      has: form.has("tag"),
      entries: [...form.entries()],
    });
  },
};
