// GET /v1/runtimes: the languages and backends a server can run, with versions and why one is unavailable, and
// the server's limit defaults and ceilings; GET /v1/templates: the environments a run or session may name.

import { ResolvedLimits, Template } from '@airlock/protocol';
import { z } from 'zod';

export const Runtime = z.object({
  language: z.string(),
  backend: z.string(),
  version: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
  /**
   * The template serving the language on this backend by default (container backends; absent for the isolate).
   * The compiled languages (c, cpp, go, rust, java, ruby, php) run only in a template.
   */
  template: z.string().optional(),
});

/** The server's defaults and ceilings of a run's limits (before a token or tenant policy narrows them). */
export const ServerLimits = z.object({ defaults: ResolvedLimits, ceilings: ResolvedLimits });

/** `limits` is absent from servers older than this client. */
export const RuntimesResponse = z.object({ runtimes: z.array(Runtime), limits: ServerLimits.optional() });

export const TemplatesResponse = z.object({ templates: z.array(Template) });

export type Runtime = z.infer<typeof Runtime>;
export type ServerLimits = z.infer<typeof ServerLimits>;
export type RuntimesResponse = z.infer<typeof RuntimesResponse>;
export type TemplatesResponse = z.infer<typeof TemplatesResponse>;
