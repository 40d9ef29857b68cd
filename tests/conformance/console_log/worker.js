// Console output of every kind must not disturb the response.
export default {
  async fetch(request) {
    console.log("plain", 1, true, null, undefined);
    console.info({ nested: { obj: [1, 2] } });
    console.debug("debug line");
    console.warn("a warning");
    console.error(new Error("logged, not thrown"));
    console.log("%s is %d", "format", 42);
    const cyclic = {};
    cyclic.self = cyclic;
    console.log(cyclic);
    console.log(new Map([["k", 1]]), new Set([1]), Symbol("s"), 10n, () => 1);
    console.table?.([{ a: 1 }]);
    console.time?.("t");
    console.timeEnd?.("t");
    console.assert?.(false, "assertion message");
    for (let i = 0; i < 200; i++) console.log("line", i);
    return new Response("logged fine");
  },
};
