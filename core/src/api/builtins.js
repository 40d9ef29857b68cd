(function (ops, internals) {
  "use strict";

  // V8 10.2 predates these ES2023-2025 builtins; worker code written for current Cloudflare
  // runtimes expects them. Each is installed only when missing, as a non-enumerable method
  // like the built-in ones, so a newer V8 keeps its native versions.

  function install(target, methods) {
    for (const key of Reflect.ownKeys(methods)) {
      if (Object.prototype.hasOwnProperty.call(target, key)) continue;
      const desc = Object.getOwnPropertyDescriptor(methods, key);
      desc.enumerable = false;
      Object.defineProperty(target, key, desc);
    }
  }

  function toIntegerOrInfinity(value) {
    const n = Number(value);
    if (Number.isNaN(n) || n === 0) return 0;
    if (!Number.isFinite(n)) return n;
    return Math.trunc(n);
  }

  function toLength(value) {
    const n = toIntegerOrInfinity(value);
    return n <= 0 ? 0 : Math.min(n, Number.MAX_SAFE_INTEGER);
  }

  function relativeIndex(value, length, fallback) {
    if (value === undefined) return fallback;
    const rel = toIntegerOrInfinity(value);
    if (rel === -Infinity) return 0;
    if (rel < 0) return Math.max(length + rel, 0);
    return Math.min(rel, length);
  }

  function requireCallable(fn, what) {
    if (typeof fn !== "function") throw new TypeError(`${what} is not a function`);
    return fn;
  }

  install(Promise, {
    withResolvers() {
      let resolve, reject;
      const promise = new this((res, rej) => { resolve = res; reject = rej; });
      return { promise, resolve, reject };
    },
  });

  function groupInto(map, items, callback, keyCoercion) {
    requireCallable(callback, String(callback));
    let index = 0;
    for (const item of items) {
      const key = keyCoercion(callback(item, index++));
      const group = map.get(key);
      if (group) group.push(item); else map.set(key, [item]);
    }
    return map;
  }

  install(Object, {
    groupBy(items, callback) {
      const groups = groupInto(new Map(), items, callback, (k) => (typeof k === "symbol" ? k : String(k)));
      const result = Object.create(null);
      for (const [key, group] of groups) result[key] = group;
      return result;
    },
  });

  install(Map, {
    groupBy(items, callback) {
      return groupInto(new Map(), items, callback, (k) => (k === 0 ? 0 : k));
    },
  });

  function sortCompare(comparefn) {
    return (a, b) => {
      if (a === undefined) return b === undefined ? 0 : 1;
      if (b === undefined) return -1;
      if (comparefn !== undefined) return comparefn(a, b);
      const sa = String(a), sb = String(b);
      return sa < sb ? -1 : sa > sb ? 1 : 0;
    };
  }

  install(Array.prototype, {
    toReversed() {
      const o = Object(this);
      const len = toLength(o.length);
      const out = new Array(len);
      for (let i = 0; i < len; i++) out[i] = o[len - 1 - i];
      return out;
    },
    toSorted(comparefn) {
      if (comparefn !== undefined) requireCallable(comparefn, "The comparison function");
      const o = Object(this);
      const len = toLength(o.length);
      const out = new Array(len);
      for (let i = 0; i < len; i++) out[i] = o[i];
      return out.sort(sortCompare(comparefn));
    },
    toSpliced(start, skipCount, ...items) {
      const o = Object(this);
      const len = toLength(o.length);
      const actualStart = relativeIndex(start, len, 0);
      let actualSkip;
      if (arguments.length === 0) actualSkip = 0;
      else if (arguments.length === 1) actualSkip = len - actualStart;
      else actualSkip = Math.min(Math.max(toIntegerOrInfinity(skipCount), 0), len - actualStart);
      const newLen = len + items.length - actualSkip;
      if (newLen > Number.MAX_SAFE_INTEGER) throw new TypeError("Invalid array length");
      const out = new Array(newLen);
      let i = 0;
      for (; i < actualStart; i++) out[i] = o[i];
      for (const item of items) out[i++] = item;
      for (let r = actualStart + actualSkip; r < len; r++) out[i++] = o[r];
      return out;
    },
    with(index, value) {
      const o = Object(this);
      const len = toLength(o.length);
      const rel = toIntegerOrInfinity(index);
      const actual = rel >= 0 ? rel : len + rel;
      if (actual >= len || actual < 0) throw new RangeError("Invalid index : " + index);
      const out = new Array(len);
      for (let i = 0; i < len; i++) out[i] = i === actual ? value : o[i];
      return out;
    },
  });
  for (const name of ["toReversed", "toSorted", "toSpliced"]) {
    if (!Array.prototype[Symbol.unscopables][name]) Array.prototype[Symbol.unscopables][name] = true;
  }

  const TypedArray = Object.getPrototypeOf(Uint8Array);
  const typedArrayLength = Object.getOwnPropertyDescriptor(TypedArray.prototype, "length").get;
  const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get;
  function typedLength(ta) {
    if (typedArrayTag.call(ta) === undefined) throw new TypeError("this is not a typed array.");
    return typedArrayLength.call(ta);
  }
  function sameTypeArray(ta, len) {
    const Ctor = globalThis[typedArrayTag.call(ta)];
    return new Ctor(len);
  }

  install(TypedArray.prototype, {
    toReversed() {
      const len = typedLength(this);
      const out = sameTypeArray(this, len);
      for (let i = 0; i < len; i++) out[i] = this[len - 1 - i];
      return out;
    },
    toSorted(comparefn) {
      if (comparefn !== undefined) requireCallable(comparefn, "The comparison function");
      const len = typedLength(this);
      const out = sameTypeArray(this, len);
      out.set(this);
      return out.sort(comparefn);
    },
    with(index, value) {
      const len = typedLength(this);
      const rel = toIntegerOrInfinity(index);
      const actual = rel >= 0 ? rel : len + rel;
      const isBig = typedArrayTag.call(this).startsWith("Big");
      const numeric = isBig ? BigInt(value) : Number(value);
      if (actual >= len || actual < 0) throw new RangeError("Invalid typed array index");
      const out = sameTypeArray(this, len);
      out.set(this);
      out[actual] = numeric;
      return out;
    },
  });

  install(String.prototype, {
    isWellFormed() {
      if (this == null) throw new TypeError("String.prototype.isWellFormed called on null or undefined");
      return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(String(this));
    },
    toWellFormed() {
      if (this == null) throw new TypeError("String.prototype.toWellFormed called on null or undefined");
      return String(this).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
    },
  });

  install(Array, {
    async fromAsync(items, mapfn, thisArg) {
      if (items == null) throw new TypeError("Array.fromAsync requires an array-like or iterable");
      if (mapfn !== undefined) requireCallable(mapfn, "The map function");
      const C = typeof this === "function" ? this : Array;
      const asyncIter = items[Symbol.asyncIterator];
      const syncIter = items[Symbol.iterator];
      if (asyncIter != null || syncIter != null) {
        const out = C === Array ? [] : new C();
        let k = 0;
        const iterable = asyncIter != null ? items : (async function* () {
          // A sync iterator's values are awaited one by one, as the spec's
          // CreateAsyncFromSyncIterator does.
          for (const v of items) yield await v;
        })();
        for await (const v of iterable) {
          out[k] = mapfn === undefined ? v : await mapfn.call(thisArg, v, k);
          k++;
        }
        out.length = k;
        return out;
      }
      const arrayLike = Object(items);
      const len = toLength(arrayLike.length);
      const out = C === Array ? new Array(len) : new C(len);
      for (let k = 0; k < len; k++) {
        const v = await arrayLike[k];
        out[k] = mapfn === undefined ? v : await mapfn.call(thisArg, v, k);
      }
      out.length = len;
      return out;
    },
  });

  // The Set methods read `other` through its size/has/keys, so any set-like works (a Map too).
  function getSetRecord(other) {
    if (other === null || typeof other !== "object" && typeof other !== "function") {
      throw new TypeError("The 'other' argument must be an object");
    }
    const rawSize = other.size;
    const numSize = Number(rawSize);
    if (Number.isNaN(numSize)) throw new TypeError("The 'size' property must be a number");
    const size = toIntegerOrInfinity(numSize);
    if (size < 0) throw new RangeError("The 'size' property must not be negative");
    const has = other.has;
    if (typeof has !== "function") throw new TypeError("The 'has' property must be a function");
    const keys = other.keys;
    if (typeof keys !== "function") throw new TypeError("The 'keys' property must be a function");
    return {
      size,
      has: (v) => Boolean(has.call(other, v)),
      keys() {
        const iter = keys.call(other);
        if (iter === null || typeof iter !== "object") throw new TypeError("keys() must return an object");
        const next = iter.next;
        return { iter, next: () => next.call(iter) };
      },
    };
  }

  const setSize = Object.getOwnPropertyDescriptor(Set.prototype, "size").get;
  const setHas = Set.prototype.has;
  function requireSet(s) {
    setSize.call(s);
    return s;
  }
  function closeIterator(iter) {
    const ret = iter.return;
    if (ret !== undefined) ret.call(iter);
  }

  install(Set.prototype, {
    union(other) {
      requireSet(this);
      const rec = getSetRecord(other);
      const out = new Set(this);
      const { next } = rec.keys();
      for (let step = next(); !step.done; step = next()) out.add(step.value);
      return out;
    },
    intersection(other) {
      requireSet(this);
      const rec = getSetRecord(other);
      const out = new Set();
      if (setSize.call(this) <= rec.size) {
        for (const v of [...this]) if (rec.has(v)) out.add(v);
      } else {
        const { next } = rec.keys();
        for (let step = next(); !step.done; step = next()) {
          const v = step.value === 0 ? 0 : step.value;
          if (setHas.call(this, v)) out.add(v);
        }
      }
      return out;
    },
    difference(other) {
      requireSet(this);
      const rec = getSetRecord(other);
      const out = new Set(this);
      if (setSize.call(this) <= rec.size) {
        for (const v of [...this]) if (rec.has(v)) out.delete(v);
      } else {
        const { next } = rec.keys();
        for (let step = next(); !step.done; step = next()) out.delete(step.value === 0 ? 0 : step.value);
      }
      return out;
    },
    symmetricDifference(other) {
      requireSet(this);
      const rec = getSetRecord(other);
      const out = new Set(this);
      const { next } = rec.keys();
      for (let step = next(); !step.done; step = next()) {
        const v = step.value === 0 ? 0 : step.value;
        if (setHas.call(this, v)) out.delete(v); else out.add(v);
      }
      return out;
    },
    isSubsetOf(other) {
      requireSet(this);
      const rec = getSetRecord(other);
      if (setSize.call(this) > rec.size) return false;
      for (const v of [...this]) if (!rec.has(v)) return false;
      return true;
    },
    isSupersetOf(other) {
      requireSet(this);
      const rec = getSetRecord(other);
      if (setSize.call(this) < rec.size) return false;
      const { iter, next } = rec.keys();
      for (let step = next(); !step.done; step = next()) {
        if (!setHas.call(this, step.value)) { closeIterator(iter); return false; }
      }
      return true;
    },
    isDisjointFrom(other) {
      requireSet(this);
      const rec = getSetRecord(other);
      if (setSize.call(this) <= rec.size) {
        for (const v of [...this]) if (rec.has(v)) return false;
      } else {
        const { iter, next } = rec.keys();
        for (let step = next(); !step.done; step = next()) {
          if (setHas.call(this, step.value)) { closeIterator(iter); return false; }
        }
      }
      return true;
    },
  });
})
