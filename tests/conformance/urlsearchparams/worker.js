// URLSearchParams: parsing, repeats, mutation, sorting and serialisation.
export default {
  async fetch(request) {
    const p = new URLSearchParams("?a=1&b=2&a=3&c=x+y&d=%26%3D&e");
    const read = {
      a: p.get("a"),
      all: p.getAll("a"),
      c: p.get("c"),
      d: p.get("d"),
      e: p.get("e"),
      missing: p.get("zzz"),
      hasB: p.has("b"),
      size: p.size,
    };
    p.append("f", "with space & amp");
    p.delete("b");
    p.set("a", "only");
    const afterMutation = p.toString();
    p.sort();
    const sorted = p.toString();
    const fromObject = new URLSearchParams({ x: "1", y: "é" }).toString();
    const fromPairs = new URLSearchParams([["k", "v"], ["k", "w"]]).toString();
    const entries = [...new URLSearchParams("z=1&y=2")];
    const forEach = [];
    new URLSearchParams("m=1&n=2").forEach((v, k) => forEach.push(`${k}=${v}`));
    const fromRequest = Object.fromEntries(new URL(request.url).searchParams);
    return Response.json({ read, afterMutation, sorted, fromObject, fromPairs, entries, forEach, fromRequest });
  },
};
