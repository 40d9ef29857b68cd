(function (ops, internals) {
  "use strict";

  // Bodies streaming between JS and host stores (body.rs), one chunk per host call, so an object
  // larger than the heap never has to be in it whole.

  const { hostCall } = internals;

  // A ReadableStream over the host body `handle` (`length` bytes). Each pull asks the host for
  // one chunk; cancelling releases the host's reader.
  internals.hostBodyStream = (handle, length) => {
    let open = true;
    const rs = internals.createReadableStream({
      async pull(controller) {
        for (;;) {
          const chunk = await hostCall(ops.op_body_read, handle);
          if (chunk === null) {
            open = false;
            ops.op_body_cancel(handle);
            controller.close();
            return;
          }
          if (chunk.byteLength > 0) {
            controller.enqueue(chunk);
            return;
          }
        }
      },
      cancel() {
        if (open) ops.op_body_cancel(handle);
        open = false;
      },
    }, 0);
    internals.setStreamLength(rs, length);
    return rs;
  };

  function chunkBytes(value) {
    if (value instanceof Uint8Array) return value;
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    throw new TypeError("This ReadableStream did not return bytes.");
  }

  // Streams `stream` into a new host body of `length` bytes (null: unknown, the host counts what
  // arrives, as KV does against its value limit). Returns the body's handle, to give
  // to the op that consumes it, and a promise for the pumping: it settles once every chunk is
  // with the host (or the host stopped reading), and rejects with the stream's own error, which
  // also fails the host's read so nothing partial is stored.
  internals.streamToHostBody = (stream, length) => {
    const handle = ops.op_body_sink();
    const reader = stream.getReader();
    const done = (async () => {
      let total = 0;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const bytes = chunkBytes(value);
          total += bytes.byteLength;
          if (length !== null && total > length) throw new TypeError(`The stream produced more than its declared length of ${length} bytes.`);
          if (bytes.byteLength === 0) continue;
          if (!(await hostCall(ops.op_body_write, handle, bytes))) {
            // The host stopped reading (it failed or refused the write); its answer says why.
            reader.cancel().catch(() => {});
            return;
          }
        }
        if (length !== null && total < length) throw new TypeError(`The stream ended after ${total} of its declared ${length} bytes.`);
        await hostCall(ops.op_body_end, handle, null);
      } catch (err) {
        let message;
        try { message = String(err?.message ?? err); } catch { message = "stream error"; }
        await hostCall(ops.op_body_end, handle, message).catch(() => {});
        reader.cancel(err).catch(() => {});
        throw err;
      } finally {
        try { reader.releaseLock(); } catch {}
      }
    })();
    return { handle, done };
  };

  // Runs host call `op(...args, bytes, sinkHandle)` for a body `value` that is either bytes in
  // hand ({bytes, stream: null}) or a stream ({stream, length}, length null if unknown), pumping the
  // stream into the host while the call runs. A failure of the stream wins over the host's
  // answer (which then only reports the body it could not finish); the host's own errors go
  // through `mapHostError`.
  internals.callWithBody = async (op, args, value, mapHostError = (e) => e) => {
    if (value.stream === null) {
      try {
        return await hostCall(op, ...args, value.bytes, null);
      } catch (err) {
        throw mapHostError(err);
      }
    }
    const { handle, done } = internals.streamToHostBody(value.stream, value.length);
    const pumped = done.then(() => null, (err) => ({ err }));
    let result;
    try {
      result = await hostCall(op, ...args, null, handle);
    } catch (err) {
      // Whoever holds the body now (nobody, if the call never started) lets go of it, so the
      // pump stops instead of waiting for room.
      ops.op_body_cancel(handle);
      const failure = await pumped;
      throw failure !== null ? failure.err : mapHostError(err);
    }
    const failure = await pumped;
    if (failure !== null) throw failure.err;
    return result;
  };
})
