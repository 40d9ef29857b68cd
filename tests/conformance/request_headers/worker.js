// Request headers as the worker sees them: case-insensitive lookup, repeats combined.
export default {
  async fetch(request) {
    const h = request.headers;
    return Response.json({
      custom: h.get("X-Custom"),
      lower: h.get("x-custom"),
      repeated: h.get("x-repeat"),
      userAgent: h.get("user-agent"),
      accept: h.get("Accept"),
      missing: h.get("x-not-sent"),
      hasCustom: h.has("X-CUSTOM"),
      // Iteration is sorted by lower-case name, whatever order the client sent.
      xNames: [...h.keys()].filter((k) => ["x-custom", "x-repeat", "x-also"].includes(k)),
    });
  },
};
