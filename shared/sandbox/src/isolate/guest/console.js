// Guest runtime, part 2: the global `console`. log/info/debug/dir go to stdout, error/warn/trace/assert to
// stderr. Each line is formatted inside the isolate and handed to the host as one plain string; the host
// counts and caps bytes. The job's output cap arrives at begin. Must never pass anything but a stream number
// and a string to the host.
(function installConsole(runtime) {
  const { bridge, format, inspect } = runtime;
  const { apply, defineProperty } = Reflect;
  const hostWrite = bridge.write;
  const stringSlice = String.prototype.slice;
  const stringSplit = String.prototype.split;
  const arrayJoin = Array.prototype.join;
  const dateNow = Date.now;
  const STDOUT = 1;
  const STDERR = 2;
  // The host is the authority on the byte cap; the guest only avoids handing it strings far beyond it.
  // A UTF-16 unit is at least one UTF-8 byte, so cap + 1 units are always enough to show an overflow.
  let unitsLeft = 0;
  runtime.onBegin.push((config) => {
    unitsLeft = config.outputBytes + 1;
  });
  // Session mode: every cell has its own output cap.
  runtime.onCell?.push((cell) => {
    unitsLeft = cell.outputBytes + 1;
  });
  let groupIndent = '';
  const counts = new Map();
  const timers = new Map();

  function emit(stream, text) {
    if (unitsLeft <= 0) return;
    let line = `${text}\n`;
    if (groupIndent !== '') {
      const lines = apply(stringSplit, text, ['\n']);
      line = `${groupIndent}${apply(arrayJoin, lines, [`\n${groupIndent}`])}\n`;
    }
    if (line.length > unitsLeft) line = apply(stringSlice, line, [0, unitsLeft]);
    unitsLeft -= line.length;
    hostWrite(stream, line);
  }

  function elapsed(label) {
    const ms = dateNow() - timers.get(label);
    return ms >= 1000 ? `${(ms / 1000).toFixed(3)}s` : `${ms}ms`;
  }

  const console = {
    log: (...args) => emit(STDOUT, format(args)),
    info: (...args) => emit(STDOUT, format(args)),
    debug: (...args) => emit(STDOUT, format(args)),
    error: (...args) => emit(STDERR, format(args)),
    warn: (...args) => emit(STDERR, format(args)),
    dir: (value, options) => emit(STDOUT, inspect(value, { depth: options?.depth })),
    table: (value) => emit(STDOUT, typeof value === 'object' ? inspect(value) : format([value])),
    trace: (...args) => {
      const stack = new Error().stack ?? '';
      const frames = apply(stringSlice, stack, [stack.indexOf('\n') + 1]);
      emit(STDERR, `Trace${args.length > 0 ? `: ${format(args)}` : ''}\n${frames}`);
    },
    assert: (value, ...args) => {
      if (value) return;
      emit(STDERR, args.length > 0 ? `Assertion failed: ${format(args)}` : 'Assertion failed');
    },
    count: (label = 'default') => {
      const key = `${label}`;
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      emit(STDOUT, `${key}: ${count}`);
    },
    countReset: (label = 'default') => {
      counts.delete(`${label}`);
    },
    group: (...args) => {
      if (args.length > 0) emit(STDOUT, format(args));
      groupIndent += '  ';
    },
    groupEnd: () => {
      groupIndent = apply(stringSlice, groupIndent, [2]);
    },
    time: (label = 'default') => {
      const key = `${label}`;
      if (timers.has(key)) emit(STDERR, `Warning: Label '${key}' already exists for console.time()`);
      else timers.set(key, dateNow());
    },
    timeLog: (label = 'default', ...args) => {
      const key = `${label}`;
      if (!timers.has(key)) emit(STDERR, `Warning: No such label '${key}' for console.timeLog()`);
      else emit(STDOUT, `${key}: ${elapsed(key)}${args.length > 0 ? ` ${format(args)}` : ''}`);
    },
    timeEnd: (label = 'default') => {
      const key = `${label}`;
      if (!timers.has(key)) return emit(STDERR, `Warning: No such label '${key}' for console.timeEnd()`);
      emit(STDOUT, `${key}: ${elapsed(key)}`);
      timers.delete(key);
    },
  };
  console.groupCollapsed = console.group;

  defineProperty(globalThis, 'console', { value: console, writable: true, configurable: true });
});
