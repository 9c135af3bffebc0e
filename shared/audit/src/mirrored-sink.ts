// An audit sink that tells a listener of each record once its own sink has stored it (on NATS: a copy to the
// audit stream, so every gateway can show it). The wrapped sink stays the source of truth: a record it refused
// is never passed on, and a listener that throws harms neither the append nor the caller.

import type { AuditSink } from './audit-sink.ts';
import type { AuditRecord } from './record.ts';

export function mirroredSink(sink: AuditSink, onStored: (record: AuditRecord) => void): AuditSink {
  return {
    async append(entry) {
      const record = await sink.append(entry);
      try {
        onStored(record);
      } catch {
        // The listener's failure is its own.
      }
      return record;
    },
    close: () => sink.close(),
  };
}
