(function (ops, internals) {
  "use strict";

  function defineGlobal(name, value) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }

  function illegalInvocation() {
    return new TypeError("Illegal invocation");
  }

  function setToStringTag(ctor, tag) {
    Object.defineProperty(ctor.prototype, Symbol.toStringTag, { value: tag, configurable: true });
  }

  internals.defineGlobal = defineGlobal;
  internals.illegalInvocation = illegalInvocation;
  internals.setToStringTag = setToStringTag;

  const legacyCodes = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InUseAttributeError: 10,
    InvalidStateError: 11, SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14,
    InvalidAccessError: 15, TypeMismatchError: 17, SecurityError: 18, NetworkError: 19,
    AbortError: 20, URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23,
    InvalidNodeTypeError: 24, DataCloneError: 25,
  };

  class DOMException {
    #name;
    #message;
    constructor(message = "", options = "Error") {
      this.#message = String(message);
      if (options !== null && typeof options === "object") {
        this.#name = "name" in options ? String(options.name) : "Error";
        if ("cause" in options) {
          Object.defineProperty(this, "cause", { value: options.cause, writable: true, configurable: true });
        }
      } else {
        this.#name = String(options);
      }
      Error.captureStackTrace(this, DOMException);
    }
    get name() {
      if (!(#name in this)) throw illegalInvocation();
      return this.#name;
    }
    get message() {
      if (!(#name in this)) throw illegalInvocation();
      return this.#message;
    }
    get code() {
      if (!(#name in this)) throw illegalInvocation();
      return legacyCodes[this.#name] ?? 0;
    }
  }
  Object.setPrototypeOf(DOMException.prototype, Error.prototype);
  setToStringTag(DOMException, "DOMException");
  const constants = [
    "INDEX_SIZE_ERR", "DOMSTRING_SIZE_ERR", "HIERARCHY_REQUEST_ERR", "WRONG_DOCUMENT_ERR",
    "INVALID_CHARACTER_ERR", "NO_DATA_ALLOWED_ERR", "NO_MODIFICATION_ALLOWED_ERR", "NOT_FOUND_ERR",
    "NOT_SUPPORTED_ERR", "INUSE_ATTRIBUTE_ERR", "INVALID_STATE_ERR", "SYNTAX_ERR",
    "INVALID_MODIFICATION_ERR", "NAMESPACE_ERR", "INVALID_ACCESS_ERR", "VALIDATION_ERR",
    "TYPE_MISMATCH_ERR", "SECURITY_ERR", "NETWORK_ERR", "ABORT_ERR", "URL_MISMATCH_ERR",
    "QUOTA_EXCEEDED_ERR", "TIMEOUT_ERR", "INVALID_NODE_TYPE_ERR", "DATA_CLONE_ERR",
  ];
  constants.forEach((name, i) => {
    const desc = { value: i + 1, enumerable: true, writable: false, configurable: false };
    Object.defineProperty(DOMException, name, desc);
    Object.defineProperty(DOMException.prototype, name, desc);
  });
  internals.DOMException = DOMException;
  defineGlobal("DOMException", DOMException);

  // Binding classes that refuse structured cloning, as workerd's do: prototype -> type name.
  const unserializable = new WeakMap();
  internals.markUnserializable = (cls, typeName) => unserializable.set(cls.prototype, typeName);

  function structuredClone(value, options = undefined) {
    if (arguments.length === 0) {
      throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present.");
    }
    if (options != null && typeof options !== "object") {
      throw new TypeError("The 'options' argument must be an object");
    }
    const refused = value !== null && typeof value === "object" ? unserializable.get(Object.getPrototypeOf(value)) : undefined;
    if (refused !== undefined) {
      throw new DOMException(`Could not serialize object of type "${refused}". This type does not support serialization.`, "DataCloneError");
    }
    try {
      return ops.op_structured_clone(value);
    } catch (err) {
      if (err !== null && typeof err === "object" && err.name === "DataCloneError") {
        throw new DOMException(err.message, "DataCloneError");
      }
      throw err;
    }
  }
  defineGlobal("structuredClone", structuredClone);

  const illegalConstructor = Symbol("illegal constructor guard");
  internals.illegalConstructor = illegalConstructor;

  class Performance {
    constructor(key) {
      if (key !== illegalConstructor) throw new TypeError("Illegal constructor");
    }
    get timeOrigin() {
      if (this !== performance) throw illegalInvocation();
      return 0;
    }
    now() {
      if (this !== performance) throw illegalInvocation();
      return ops.op_now();
    }
    toJSON() {
      if (this !== performance) throw illegalInvocation();
      return { timeOrigin: 0 };
    }
  }
  setToStringTag(Performance, "Performance");
  const performance = new Performance(illegalConstructor);
  defineGlobal("Performance", Performance);
  defineGlobal("performance", performance);

  class Navigator {
    constructor(key) {
      if (key !== illegalConstructor) throw new TypeError("Illegal constructor");
    }
    get userAgent() {
      if (this !== navigator) throw illegalInvocation();
      return "Cloudflare-Workers";
    }
    get hardwareConcurrency() {
      if (this !== navigator) throw illegalInvocation();
      return 1;
    }
    get language() {
      if (this !== navigator) throw illegalInvocation();
      return "en";
    }
    get languages() {
      if (this !== navigator) throw illegalInvocation();
      return ["en"];
    }
  }
  setToStringTag(Navigator, "Navigator");
  const navigator = new Navigator(illegalConstructor);
  defineGlobal("Navigator", Navigator);
  defineGlobal("navigator", navigator);

  // An accessor rather than a value: the global proxy of a context booted from the snapshot is
  // not the one that existed while the snapshot was built. Assigning replaces it, as with
  // [Replaceable] attributes in browsers.
  Object.defineProperty(globalThis, "self", {
    get: function self() { return globalThis; },
    set: function self(value) { defineGlobal("self", value); },
    configurable: true,
    enumerable: false,
  });
})
