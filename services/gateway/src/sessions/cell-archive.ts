// Finished session cells, kept for GET /v1/executions/:id for the retention time and up to a count (oldest go
// first). It must never show a cell to another tenant.

import type { Execution } from '@airlock/protocol';

export class CellArchive {
  readonly #retentionMs: number;
  readonly #max: number;
  /** Insertion order is finish order: the first entries are the oldest. */
  readonly #cells = new Map<string, { execution: Execution; finishedMs: number }>();

  constructor(retentionMs: number, max: number) {
    this.#retentionMs = retentionMs;
    this.#max = max;
  }

  add(execution: Execution): void {
    this.#cells.set(execution.id, { execution, finishedMs: Date.now() });
    while (this.#cells.size > this.#max) {
      const oldest = this.#cells.keys().next().value;
      if (oldest === undefined) break;
      this.#cells.delete(oldest);
    }
  }

  get(tenant: string, id: string): Execution | undefined {
    const kept = this.#cells.get(id);
    return kept && kept.execution.tenant === tenant ? { ...kept.execution } : undefined;
  }

  sweep(now: number): void {
    for (const [id, kept] of this.#cells) {
      if (now - kept.finishedMs <= this.#retentionMs) break;
      this.#cells.delete(id);
    }
  }
}
