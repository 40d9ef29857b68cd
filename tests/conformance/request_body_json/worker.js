// request.json(): parsed values, and a SyntaxError for malformed JSON.
export default {
  async fetch(request) {
    try {
      const data = await request.json();
      return Response.json({
        received: data,
        type: Array.isArray(data) ? "array" : typeof data,
        keys: data && typeof data === "object" ? Object.keys(data) : [],
      });
    } catch (e) {
      return Response.json({ error: e.name }, { status: 400 });
    }
  },
};
