// A template (an environment a run or session starts from) as GET /v1/templates shows it, as the MCP tools
// describe it to a model, and as each worker announces the templates it has in its heartbeat (NATS mode). The
// states are the template registry's (shared/sandbox): only `ready` runs.

import { z } from 'zod';
import { Language, TemplateName } from './request.ts';

export const TEMPLATE_STATES = ['ready', 'building', 'failed', 'missing'] as const;
export const TemplateState = z.enum(TEMPLATE_STATES);

export const Template = z.object({
  name: TemplateName,
  description: z.string().nullable(),
  languages: z.array(Language),
  /** Installed package → version (Debian, python3-*, npm), as read from the built image. */
  packages: z.record(z.string(), z.string()),
  size_bytes: z.number().nullable(),
  hash: z.string().nullable(),
  state: TemplateState,
  /** Why the template cannot be used, when it is not ready. */
  reason: z.string().nullable(),
  /** One of the images scripts/build-images.sh makes (python, node, bash): each language's default. */
  builtin: z.boolean(),
  /**
   * NATS mode: the ids of the live workers that have it ready (GET /v1/workers). Absent in embedded mode, where
   * the one process serving the API runs every template it lists.
   */
  workers: z.array(z.string()).optional(),
});

export type TemplateState = z.infer<typeof TemplateState>;
export type Template = z.infer<typeof Template>;
