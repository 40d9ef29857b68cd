// Newer JavaScript built-ins that current workerd provides and worker code already uses.
export default {
  async fetch() {
    const { promise, resolve } = Promise.withResolvers();
    setTimeout(() => resolve("resolved"), 1);
    const groups = Object.groupBy([1, 2, 3, 4, 5], (n) => (n % 2 ? "odd" : "even"));
    const mapGroups = Map.groupBy(["apple", "avocado", "banana"], (s) => s[0]);
    const arr = [3, 1, 2];
    const a = new Set([1, 2, 3]);
    const b = new Set([2, 3, 4]);
    return Response.json({
      withResolvers: await promise,
      groupBy: groups,
      mapGroupBy: [...mapGroups.entries()],
      toSorted: arr.toSorted(),
      toReversed: arr.toReversed(),
      with: arr.with(0, 9),
      toSpliced: arr.toSpliced(1, 1),
      original: arr,
      findLast: [1, 2, 3, 4].findLast((n) => n % 2 === 1),
      at: [1, 2, 3].at(-1),
      hasOwn: Object.hasOwn({ k: 1 }, "k"),
      union: [...a.union(b)],
      intersection: [...a.intersection(b)],
      difference: [...a.difference(b)],
      isSubsetOf: new Set([2]).isSubsetOf(a),
      fromAsync: await Array.fromAsync((async function* () { yield 1; yield 2; })()),
      replaceAll: "a-b-c".replaceAll("-", "+"),
      structuredErrorCause: new Error("outer", { cause: "inner" }).cause,
    });
  },
};
