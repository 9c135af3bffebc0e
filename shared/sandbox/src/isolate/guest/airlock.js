// Guest runtime, part 7: the frozen global `airlock` (stdin, args, env, readFile, exit), defined at begin from
// the job's config, and the one-shot hook the internal entry module uses to say the user's module finished.
// Must never pass anything but strings, booleans and integers to the host, never a string longer than the host
// takes (a copy of it would be made in the host first), and must never expose the host callbacks themselves.
(function installAirlock(runtime) {
  const { bridge } = runtime;
  const { defineProperty } = Reflect;
  const { freeze } = Object;
  const { isInteger } = Number;
  const MAX_PATH_CHARS = 4096;

  function readFile(path, encoding) {
    if (typeof path !== 'string') {
      throw new TypeError(`The "path" argument must be of type string. Received ${typeof path}`);
    }
    if (encoding !== undefined && encoding !== null && encoding !== 'utf8' && encoding !== 'utf-8') {
      throw new TypeError(`Unsupported encoding: only 'utf8' is available (got ${typeof encoding})`);
    }
    if (path.length > MAX_PATH_CHARS) {
      const error = new Error(`ENAMETOOLONG: name too long (${path.length} characters), open`);
      error.code = 'ENAMETOOLONG';
      throw error;
    }
    const reply = bridge.readFile(path, encoding !== undefined && encoding !== null);
    if (reply?.ok !== true) {
      const error = new Error(`${reply?.message ?? 'readFile failed'}`);
      error.code = reply?.code ?? 'EIO';
      error.path = path;
      throw error;
    }
    return reply.data;
  }

  function exit(code = 0) {
    const value = Number(code);
    if (!isInteger(value)) throw new TypeError(`The "code" argument must be an integer. Received ${code}`);
    bridge.exit(value & 0xff);
  }

  // Session mode: stdin is the current cell's (a getter on the frozen object).
  let cellStdin = '';
  runtime.onCell?.push((cell) => {
    cellStdin = `${cell.stdin}`;
  });

  runtime.onBegin.push((config) => {
    const airlock = {};
    defineProperty(
      airlock,
      'stdin',
      runtime.onCell === undefined
        ? { value: `${config.stdin}`, enumerable: true }
        : { get: () => cellStdin, enumerable: true },
    );
    airlock.args = freeze([...config.args]);
    airlock.env = freeze({ ...config.env });
    airlock.readFile = readFile;
    airlock.exit = exit;
    freeze(airlock);
    defineProperty(globalThis, 'airlock', {
      value: airlock,
      enumerable: false,
      writable: false,
      configurable: false,
    });
  });
  defineProperty(globalThis, Symbol.for('airlock.entryDone'), {
    value: () => bridge.entryDone(),
    configurable: true,
  });
});
