// Session snapshots: the image of a session's interpreter memory and working folder, taken between cells, from
// which new sessions start (a fork) and a paused session resumes. The snapshot as every surface returns it, and
// its id. Never anything of the image itself here: it stays on the server, 0600, checked by its sha256.

import { z } from 'zod';
import { idKind } from './ids.ts';
import { Backend } from './request.ts';
import { SessionLanguage } from './session.ts';

export const Snapshot = z.object({
  id: z.string(),
  /** The session it was taken of. */
  session_id: z.string(),
  language: SessionLanguage,
  backend: Backend,
  /** The session's memory limit, which a session started from it keeps. */
  memory_mb: z.number().int(),
  size_bytes: z.number().int(),
  /** Of the image, checked before every restore. */
  sha256: z.string(),
  created_at: z.string(),
  /** When the retention sweeper deletes it (from then on it is 404); null: kept until deleted. */
  expires_at: z.string().nullable(),
});

export const SnapshotList = z.object({ snapshots: z.array(Snapshot) });

const SNAPSHOT_ID = idKind('snp');
export const newSnapshotId = (): string => SNAPSHOT_ID.make();
export const isSnapshotId = (value: string): boolean => SNAPSHOT_ID.test(value);

export type Snapshot = z.infer<typeof Snapshot>;
export type SnapshotList = z.infer<typeof SnapshotList>;
