// Guest runtime, part 3: setTimeout/setInterval/clear*/queueMicrotask. Callbacks stay inside the isolate; the
// host only learns a timer id, a delay and whether the timer keeps the job alive, and later calls
// runtime.fireTimer(id). Must never hand a guest function or object to the host.
(function installTimers(runtime) {
  const { bridge } = runtime;
  const { apply, defineProperty } = Reflect;
  const promiseThen = Promise.prototype.then;
  const resolved = Promise.resolve();
  const TIMEOUT_MAX = 2 ** 31 - 1;
  const timers = new Map();
  let nextId = 1;

  function normalizeDelay(delay) {
    const ms = Number(delay);
    return ms >= 1 && ms <= TIMEOUT_MAX ? Math.trunc(ms) : 1;
  }

  function arm(id, timer) {
    if (!bridge.timerStart(id, timer.delay, timer.ref)) {
      timers.delete(id);
      throw new RangeError(`Too many pending timers: the isolate sandbox allows ${runtime.config.maxTimers}`);
    }
  }

  class Timeout {
    #id;
    constructor(id) {
      this.#id = id;
    }
    ref() {
      const timer = timers.get(this.#id);
      if (timer !== undefined && !timer.ref) {
        timer.ref = true;
        bridge.timerRef(this.#id, true);
      }
      return this;
    }
    unref() {
      const timer = timers.get(this.#id);
      if (timer?.ref) {
        timer.ref = false;
        bridge.timerRef(this.#id, false);
      }
      return this;
    }
    hasRef() {
      return timers.get(this.#id)?.ref ?? false;
    }
    refresh() {
      const timer = timers.get(this.#id);
      if (timer !== undefined) {
        bridge.timerClear(this.#id);
        arm(this.#id, timer);
      }
      return this;
    }
    close() {
      clear(this.#id);
      return this;
    }
    [Symbol.toPrimitive]() {
      return this.#id;
    }
  }

  function schedule(callback, delay, args, repeat) {
    if (typeof callback !== 'function') {
      throw new TypeError(`The "callback" argument must be of type function. Received ${typeof callback}`);
    }
    const id = nextId;
    nextId += 1;
    const timer = { callback, args, delay: normalizeDelay(delay), repeat, ref: true };
    timers.set(id, timer);
    arm(id, timer);
    return new Timeout(id);
  }

  function clear(handle) {
    if (typeof handle === 'symbol') return;
    const id = Number(handle);
    if (timers.delete(id)) bridge.timerClear(id);
  }

  function reportUncaught(error) {
    bridge.uncaught(runtime.forHost(runtime.describeUncaught(error)));
  }

  /** Called by the host when timer `id` is due; a throwing callback ends the job like an uncaught exception. */
  runtime.fireTimer = (id) => {
    const timer = timers.get(id);
    if (timer === undefined) return;
    if (!timer.repeat) timers.delete(id);
    try {
      apply(timer.callback, undefined, timer.args);
    } catch (error) {
      reportUncaught(error);
      return;
    }
    if (timer.repeat && timers.get(id) === timer) arm(id, timer);
  };

  const globals = {
    setTimeout: (callback, delay, ...args) => schedule(callback, delay, args, false),
    setInterval: (callback, delay, ...args) => schedule(callback, delay, args, true),
    clearTimeout: clear,
    clearInterval: clear,
    queueMicrotask: (callback) => {
      if (typeof callback !== 'function') {
        throw new TypeError(`The "callback" argument must be of type function. Received ${typeof callback}`);
      }
      apply(promiseThen, resolved, [
        () => {
          try {
            apply(callback, undefined, []);
          } catch (error) {
            reportUncaught(error);
          }
        },
      ]);
    },
  };
  for (const [name, value] of Object.entries(globals)) {
    defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }
});
