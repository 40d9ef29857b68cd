(function (ops, internals) {
  "use strict";

  const { defineGlobal, illegalInvocation, setToStringTag, illegalConstructor, DOMException } = internals;

  const TypedArray = Object.getPrototypeOf(Uint8Array);
  const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get;
  const integerArrays = new Set([
    "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
    "Uint32Array", "BigInt64Array", "BigUint64Array",
  ]);
  const MAX_RANDOM_BYTES = 65536;

  class Crypto {
    constructor(key) {
      if (key !== illegalConstructor) throw new TypeError("Illegal constructor");
    }
    getRandomValues(array) {
      if (this !== crypto) throw illegalInvocation();
      if (arguments.length === 0) {
        throw new TypeError("Failed to execute 'getRandomValues' on 'Crypto': 1 argument required, but only 0 present.");
      }
      if (!ArrayBuffer.isView(array)) {
        throw new TypeError("Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.");
      }
      if (!integerArrays.has(typedArrayTag.call(array))) {
        throw new DOMException("The data argument must be an integer-type TypedArray", "TypeMismatchError");
      }
      if (array.byteLength > MAX_RANDOM_BYTES) {
        throw new DOMException(
          `The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (${MAX_RANDOM_BYTES})`,
          "QuotaExceededError",
        );
      }
      ops.op_random_fill(array);
      return array;
    }
    randomUUID() {
      if (this !== crypto) throw illegalInvocation();
      return ops.op_random_uuid();
    }
  }
  setToStringTag(Crypto, "Crypto");
  const crypto = new Crypto(illegalConstructor);

  defineGlobal("Crypto", Crypto);
  defineGlobal("crypto", crypto);
  internals.crypto = crypto;
})
