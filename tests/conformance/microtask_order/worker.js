// The event loop's ordering: synchronous code, then microtasks (queueMicrotask and promise
// reactions in the order they were queued), then timers.
export default {
  async fetch() {
    const order = [];
    await new Promise((resolve) => {
      setTimeout(() => {
        order.push("timeout");
        resolve();
      }, 0);
      queueMicrotask(() => order.push("micro1"));
      Promise.resolve().then(() => {
        order.push("then1");
        queueMicrotask(() => order.push("micro-nested"));
      });
      queueMicrotask(() => order.push("micro2"));
      order.push("sync");
    });
    let typeError = null;
    try {
      queueMicrotask("not a function");
    } catch (e) {
      typeError = e.name;
    }
    return Response.json({ order, typeError });
  },
};
