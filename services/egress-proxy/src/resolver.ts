// Name resolution for the egress proxy, pluggable: the system resolver in production, a fixed table (like a
// hosts file) for operators' private names and for tests, which must never query real DNS.
// The proxy calls resolve() exactly once per request and dials only an address it returned.

import { lookup } from 'node:dns/promises';

export interface Resolver {
  /** Every address the name resolves to; rejects (or returns []) when it does not resolve. */
  resolve(name: string): Promise<string[]>;
}

/** The operating system's resolver (getaddrinfo). */
export const systemResolver: Resolver = {
  async resolve(name) {
    const answers = await lookup(name, { all: true, verbatim: true });
    return answers.map((a) => a.address);
  },
};

/**
 * A fixed table: name → addresses. A list of answers per name is served in turn (the last one repeats),
 * which is how a rebinding name behaves; `calls` counts lookups per name.
 */
export class TableResolver implements Resolver {
  readonly calls = new Map<string, number>();
  readonly #table: Map<string, string[][]>;

  constructor(table: Record<string, string[] | string[][]>) {
    this.#table = new Map(
      Object.entries(table).map(([name, answers]) => [
        name,
        Array.isArray(answers[0]) ? (answers as string[][]) : [answers as string[]],
      ]),
    );
  }

  async resolve(name: string): Promise<string[]> {
    const n = this.calls.get(name) ?? 0;
    this.calls.set(name, n + 1);
    const answers = this.#table.get(name);
    if (!answers || answers.length === 0) throw new Error(`${name} does not resolve`);
    return answers[Math.min(n, answers.length - 1)] ?? [];
  }
}
