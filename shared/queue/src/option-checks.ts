// The checks both queues run on their options, once, when they are built: each refusal names the option and
// quotes the bad value with its type. Must never coerce a value (a string '5' is not the number 5).

/** The value if it is a safe integer of at least `min`; otherwise a TypeError quoting it. */
export function integer(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`Expected \`${name}\` to be an integer from ${min} up, got ${describe(value)}`);
  }
  return value;
}

/** The value if it is a function; otherwise a TypeError quoting it. */
export function fn<T>(name: string, value: T): T {
  if (typeof value !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  }
  return value;
}

/** A bad value as refusals quote it: `value` (type). */
export function describe(value: unknown): string {
  return `\`${String(value)}\` (${typeof value})`;
}
