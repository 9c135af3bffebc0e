// Guest runtime, part 6: structuredClone (plain JavaScript) and crypto.getRandomValues/randomUUID (random bytes
// copied in from the host), both installed on first use, and a millisecond-resolution performance.now whose
// origin is the job's begin. Must never pass anything but a byte count to the host.
(function installPlatform(runtime) {
  runtime.lazyPart(['structuredClone', 'crypto'], () => {
    const { bridge } = runtime;
    const { apply, defineProperty, getOwnPropertyDescriptor, getPrototypeOf, ownKeys } = Reflect;
    const { isView } = ArrayBuffer;
    const dateGetTime = Date.prototype.getTime;
    const bufferSlice = ArrayBuffer.prototype.slice;
    const typedTag = getOwnPropertyDescriptor(getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;
    const INTEGER_ARRAYS = [
      'Int8Array',
      'Uint8Array',
      'Uint8ClampedArray',
      'Int16Array',
      'Uint16Array',
      'Int32Array',
      'Uint32Array',
      'BigInt64Array',
      'BigUint64Array',
    ];
    const ERRORS = { EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

    class DataCloneError extends Error {
      constructor(message) {
        super(message);
        this.name = 'DataCloneError';
      }
    }

    function cloneValue(value, memory) {
      if (typeof value === 'function' || typeof value === 'symbol') {
        throw new DataCloneError(
          `${typeof value === 'symbol' ? 'Symbol()' : 'function'} could not be cloned.`,
        );
      }
      if (typeof value !== 'object' || value === null) return value;
      if (memory.has(value)) return memory.get(value);
      const remember = (copy) => {
        memory.set(value, copy);
        return copy;
      };
      try {
        return remember(new Date(apply(dateGetTime, value, [])));
      } catch {}
      if (value instanceof RegExp) return remember(new RegExp(value.source, value.flags));
      if (value instanceof ArrayBuffer) return remember(apply(bufferSlice, value, [0]));
      if (isView(value)) {
        const buffer = cloneValue(value.buffer, memory);
        if (value instanceof DataView)
          return remember(new DataView(buffer, value.byteOffset, value.byteLength));
        const Ctor = globalThis[apply(typedTag, value, [])];
        return remember(new Ctor(buffer, value.byteOffset, value.length));
      }
      if (value instanceof Map) {
        const copy = remember(new Map());
        for (const [k, v] of value) copy.set(cloneValue(k, memory), cloneValue(v, memory));
        return copy;
      }
      if (value instanceof Set) {
        const copy = remember(new Set());
        for (const v of value) copy.add(cloneValue(v, memory));
        return copy;
      }
      if (value instanceof Error) {
        const Ctor = ERRORS[value.name] ?? Error;
        const copy = remember(new Ctor(value.message));
        defineProperty(copy, 'stack', { value: value.stack, writable: true, configurable: true });
        if ('cause' in value) copy.cause = cloneValue(value.cause, memory);
        return copy;
      }
      if (value instanceof WeakMap || value instanceof WeakSet || value instanceof Promise) {
        throw new DataCloneError(`#<${value.constructor.name}> could not be cloned.`);
      }
      const copy = remember(Array.isArray(value) ? new Array(value.length) : {});
      for (const key of ownKeys(value)) {
        if (typeof key === 'symbol') continue;
        const desc = getOwnPropertyDescriptor(value, key);
        if (desc?.enumerable) copy[key] = cloneValue(value[key], memory);
      }
      return copy;
    }

    function structuredClone(value, options) {
      if (options?.transfer !== undefined && options.transfer.length > 0) {
        throw new DataCloneError('Transferring objects is not supported in the isolate sandbox');
      }
      return cloneValue(value, new Map());
    }

    function getRandomValues(array) {
      const tag = isView(array) ? apply(typedTag, array, []) : undefined;
      if (!INTEGER_ARRAYS.includes(tag)) {
        const error = new TypeError('The data argument must be an integer-type TypedArray');
        error.name = 'TypeMismatchError';
        throw error;
      }
      if (array.byteLength > 65536) {
        const error = new RangeError(`The ArrayBufferView's byte length (${array.byteLength}) exceeds 65536`);
        error.name = 'QuotaExceededError';
        throw error;
      }
      const bytes = bridge.randomBytes(array.byteLength);
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(bytes));
      return array;
    }

    function randomUUID() {
      const b = new Uint8Array(bridge.randomBytes(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }

    return { structuredClone, crypto: Object.freeze({ getRandomValues, randomUUID }) };
  });

  // The isolate may have been prepared well before its job: time starts when the job begins.
  runtime.onBegin.push(() => {
    const timeOrigin = Date.now();
    const now = () => Date.now() - timeOrigin;
    runtime.defineGlobal('performance', Object.freeze({ timeOrigin, now }));
  });
});
