// Guest runtime, part 0b: ArrayBuffer and SharedArrayBuffer refuse, at construction, a maxByteLength beyond the
// job's memory limit. V8 reserves a resizable buffer's whole range outside the heap the isolate's own limit
// counts; what such a buffer holds is still counted by the host (see ../job-memory.ts), this only refuses up
// front a buffer that could never fit. The globals become proxies of the real constructors, so instanceof,
// statics and subclassing behave as before. Must never call into the host, and must read maxByteLength once.
(function installMemory(runtime) {
  const { construct, defineProperty } = Reflect;
  const { trunc } = Math;
  const notANumber = Number.isNaN;
  const MIB = 1024 * 1024;
  let limitBytes = 0;
  runtime.onBegin.push((config) => {
    limitBytes = config.memoryBytes;
  });

  function guard(Native, name) {
    const guarded = new Proxy(Native, {
      construct(target, args, newTarget) {
        const options = args[1];
        if ((typeof options !== 'object' && typeof options !== 'function') || options === null) {
          return construct(target, args, newTarget);
        }
        const max = options.maxByteLength;
        if (max === undefined) return construct(target, args, newTarget);
        const number = +max;
        const bytes = notANumber(number) ? 0 : trunc(number);
        if (bytes > limitBytes) {
          throw new RangeError(
            `${name}: maxByteLength of ${bytes} bytes exceeds the job's memory limit of ${limitBytes / MIB} MB`,
          );
        }
        return construct(target, [args[0], { maxByteLength: bytes }], newTarget);
      },
    });
    defineProperty(Native.prototype, 'constructor', {
      value: guarded,
      writable: true,
      enumerable: false,
      configurable: true,
    });
    runtime.defineGlobal(name, guarded);
  }

  guard(ArrayBuffer, 'ArrayBuffer');
  guard(SharedArrayBuffer, 'SharedArrayBuffer');
});
