// The wire shapes of a session's files API (/v1/sessions/:id/files): a stored file and a folder listing.
// The gateway answers with them and the clients read them; links are listed as links, never followed.

import { z } from 'zod';

/** A file written into a session by the files API: its path, size and sha256. */
export const StoredSessionFile = z.object({ path: z.string(), size: z.number().int(), sha256: z.string() });
export type StoredSessionFile = z.infer<typeof StoredSessionFile>;

/** A folder of a session's working folder (links are listed as links, never followed). */
export const SessionFileListing = z.object({
  path: z.string(),
  entries: z.array(
    z.object({
      name: z.string(),
      type: z.enum(['file', 'directory', 'symlink', 'other']),
      size: z.number().int(),
      mtime: z.string(),
    }),
  ),
  truncated: z.boolean(),
});
export type SessionFileListing = z.infer<typeof SessionFileListing>;
