// Module-level state lives as long as the isolate: a counter increments across requests.
let count = 0;
const startedAt = Date.now();

export default {
  async fetch() {
    count += 1;
    return Response.json({ count, sameIsolate: typeof startedAt === "number" });
  },
};
