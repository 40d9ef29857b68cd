// setTimeout fires by delay (then by creation order), clearTimeout cancels, setInterval repeats
// until cleared, and extra arguments reach the callback.
export default {
  async fetch() {
    const order = [];
    await new Promise((resolve) => {
      setTimeout(() => order.push("t20"), 20);
      setTimeout(() => order.push("t0-a"), 0);
      setTimeout(() => order.push("t0-b"));
      setTimeout((a, b) => order.push(`t5:${a}${b}`), 5, "x", "y");
      const cancelled = setTimeout(() => order.push("cancelled"), 1);
      clearTimeout(cancelled);
      let ticks = 0;
      const iv = setInterval(() => {
        ticks++;
        order.push(`interval${ticks}`);
        if (ticks === 3) clearInterval(iv);
      }, 2);
      setTimeout(resolve, 60);
    });
    const id = setTimeout(() => {}, 0);
    clearTimeout(id);
    return Response.json({
      first: order.slice(0, 2),
      t5: order.includes("t5:xy"),
      last: order[order.length - 1],
      intervals: order.filter((x) => x.startsWith("interval")),
      cancelled: order.includes("cancelled"),
      t5BeforeT20: order.indexOf("t5:xy") < order.indexOf("t20"),
      idType: typeof id,
    });
  },
};
