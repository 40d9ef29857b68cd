// Headers: names are lower-cased, iteration is sorted by name, repeated values combine with
// ", " (except Set-Cookie, which iterates once per cookie), and invalid names throw.
export default {
  async fetch() {
    const h = new Headers([
      ["Zeta", "last"],
      ["alpha", "first"],
      ["X-Dup", "1"],
      ["Mid", "m"],
    ]);
    h.append("x-dup", "2");
    h.append("Set-Cookie", "b=2");
    h.append("Set-Cookie", "a=1");
    const entries = [...h];
    const keys = [...h.keys()];
    const values = [...h.values()];
    const forEach = [];
    h.forEach((value, name) => forEach.push(`${name}=${value}`));
    h.delete("ZETA");
    let invalidName = null;
    try {
      h.set("bad name", "x");
    } catch (e) {
      invalidName = e.name;
    }
    const fromObject = [...new Headers({ B: "2", a: "1" })];
    const copy = new Headers(h);
    copy.set("alpha", "changed");
    return Response.json({
      entries,
      keys,
      values,
      forEach,
      afterDelete: [...h.keys()],
      invalidName,
      fromObject,
      copyIndependent: h.get("alpha"),
      trimmed: new Headers({ v: "  padded \t" }).get("v"),
    });
  },
};
