// performance.now() is a number that never goes backwards; Date.now() is the wall clock.
export default {
  async fetch() {
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 10));
    const t2 = performance.now();
    const d = Date.now();
    return Response.json({
      type: typeof t1,
      monotonic: t2 >= t1,
      nonNegative: t1 >= 0,
      timeOrigin: typeof performance.timeOrigin,
      dateIsRecent: d > Date.UTC(2020, 0, 1),
    });
  },
};
