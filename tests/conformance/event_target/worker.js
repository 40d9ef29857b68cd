// EventTarget, Event and CustomEvent as workers use them for their own objects.
export default {
  async fetch() {
    const target = new EventTarget();
    const log = [];
    const listener = (e) => log.push(`listener:${e.type}:${e.detail ?? ""}`);
    target.addEventListener("ping", listener);
    target.addEventListener("ping", listener); // the same listener is added once
    target.addEventListener("ping", () => log.push("once"), { once: true });
    target.addEventListener("ping", { handleEvent: (e) => log.push(`object:${e.type}`) });
    target.dispatchEvent(new CustomEvent("ping", { detail: "first" }));
    target.dispatchEvent(new CustomEvent("ping", { detail: "second" }));
    target.removeEventListener("ping", listener);
    target.dispatchEvent(new Event("ping"));

    const cancelable = new Event("save", { cancelable: true });
    target.addEventListener("save", (e) => e.preventDefault());
    const notCanceled = target.dispatchEvent(cancelable);

    const e = new Event("x");
    return Response.json({
      log,
      notCanceled,
      defaultPrevented: cancelable.defaultPrevented,
      fresh: { type: e.type, bubbles: e.bubbles, cancelable: e.cancelable, isTrusted: e.isTrusted },
      customDetail: new CustomEvent("c", { detail: { n: 1 } }).detail,
      customIsEvent: new CustomEvent("c") instanceof Event,
    });
  },
};
