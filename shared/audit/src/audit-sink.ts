// The one interface every audit destination implements: append a record to a tamper-evident chain, close it.
// Must never grow beyond what every sink can honour; verification of a file lives in verify.ts.

import type { AuditEntry, AuditRecord } from './record.ts';

export interface AuditSink {
  /**
   * Seals the entry as the next record of the chain. The seq is taken when append() is called, so records
   * are stored in call order whatever order the returned promises settle in. Resolves once the record is
   * as durable as the sink promises; rejects if it could not be stored.
   */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /** Stores everything appended so far durably, then releases the sink. Later appends reject. */
  close(): Promise<void>;
}
