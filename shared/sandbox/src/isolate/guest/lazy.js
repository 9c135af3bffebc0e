// Guest runtime, part 0: globals whose part is installed the first time the guest reads one of them, so a
// prepared isolate does not pay for what most jobs never use (Node defines several of its globals this way).
// Assigning such a global replaces it without installing anything. Must never call into the host.
(function installLazy(runtime) {
  const { defineProperty, getOwnPropertyDescriptor } = Reflect;

  function defineGlobal(name, value) {
    defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }

  /** Puts `names` on globalThis; the first read runs install(runtime). Returns the part's exports, on demand. */
  function lazyPart(names, install) {
    let exports = null;
    const getters = new Map();
    const load = () => {
      if (exports !== null) return exports;
      exports = install(runtime);
      for (const name of names) {
        const current = getOwnPropertyDescriptor(globalThis, name);
        if (current !== undefined && current.get === getters.get(name)) defineGlobal(name, exports[name]);
      }
      return exports;
    };
    for (const name of names) {
      const get = () => load()[name];
      getters.set(name, get);
      defineProperty(globalThis, name, {
        get,
        set: (value) => defineGlobal(name, value),
        enumerable: false,
        configurable: true,
      });
    }
    return load;
  }

  defineProperty(runtime, 'defineGlobal', { value: defineGlobal });
  defineProperty(runtime, 'lazyPart', { value: lazyPart });
});
