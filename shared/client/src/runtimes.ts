// GET /v1/runtimes: the languages and backends a server can run, with versions and why one is unavailable.

import { z } from 'zod';

export const Runtime = z.object({
  language: z.string(),
  backend: z.string(),
  version: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
});

export const RuntimesResponse = z.object({ runtimes: z.array(Runtime) });

export type Runtime = z.infer<typeof Runtime>;
