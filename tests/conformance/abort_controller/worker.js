// AbortController / AbortSignal basics.
export default {
  async fetch() {
    const ac = new AbortController();
    const events = [];
    ac.signal.addEventListener("abort", (e) => events.push(e.type));
    // workerd runs the onabort handler before addEventListener listeners (browsers use
    // registration order), so the two are recorded apart to stay order-independent.
    let onabortCalled = false;
    ac.signal.onabort = () => (onabortCalled = true);
    const before = ac.signal.aborted;
    ac.abort("my reason");
    ac.abort("second call is ignored");
    let thrown = null;
    try {
      ac.signal.throwIfAborted();
    } catch (e) {
      thrown = e;
    }
    const defaultReason = new AbortController();
    defaultReason.abort();
    const pre = AbortSignal.abort();
    const timeout = AbortSignal.timeout(5);
    await new Promise((r) => setTimeout(r, 30));
    const any = typeof AbortSignal.any === "function" ? AbortSignal.any([new AbortController().signal, pre]).aborted : "missing";
    return Response.json({
      before,
      after: ac.signal.aborted,
      reason: ac.signal.reason,
      events,
      onabortCalled,
      thrown,
      defaultReasonName: defaultReason.signal.reason.name,
      defaultReasonIsDOMException: defaultReason.signal.reason instanceof DOMException,
      staticAbort: [pre.aborted, pre.reason.name],
      timeout: [timeout.aborted, timeout.reason && timeout.reason.name],
      any,
      isEventTarget: ac.signal instanceof EventTarget,
    });
  },
};
