// The named schemas of the OpenAPI document: each a zod schema of @airlock/protocol (or of the gateway), under
// the name clients see. A route that uses one of these schemas gets a $ref to it; naming a new schema is one line
// here. Also the server's ceilings, written into the document as the maxima of the fields they bound.
// Never a second definition of a shape: the document is generated from the same zod that validates.

import {
  Backend,
  CellException,
  CellRequest,
  EgressAllowRule,
  EgressRecord,
  Execution,
  ExecutionRequest,
  ExecutionResult,
  FileInput,
  Language,
  LimitsInput,
  MimeBundle,
  NetworkInput,
  Outcome,
  OutputFile,
  ResolvedLimits,
  Session,
  SessionClosedReason,
  SessionRequest,
  SessionStatus,
  Status,
  Usage,
} from '@airlock/protocol';
import { z } from 'zod';
import { ErrorResponse, FieldIssue, Runtime, RuntimeList } from '../openapi-schemas.ts';

/** Name in the document → the zod schema it is generated from. */
export const NAMED_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  ExecutionRequest,
  FileInput,
  Limits: LimitsInput,
  Network: NetworkInput,
  EgressAllowRule,
  Execution,
  ExecutionResult,
  Usage,
  ResolvedLimits,
  OutputFile,
  EgressRecord,
  MimeBundle,
  CellException,
  SessionRequest,
  Session,
  CellRequest,
  Error: ErrorResponse,
  FieldIssue,
  Runtime,
  RuntimeList,
  Language,
  Backend,
  Status,
  Outcome,
  SessionStatus,
  SessionClosedReason,
};

/** The server's own bounds, tighter than the protocol's absolute ones; shown as the fields' maxima. */
export interface ServerCeilings {
  limits: ResolvedLimits;
  sessionIdleSeconds?: number;
  sessionLifetimeSeconds?: number;
}

/** A schema and what the document says of it: its name (`id`), or keywords that override the generated ones. */
export type CatalogEntry = readonly [schema: z.core.$ZodType, meta: { id?: string; [key: string]: unknown }];

/** The field schema inside an optional wrapper (the one zod's JSON Schema carries the bounds of). */
function inner(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
}

/**
 * Every named schema (ids) and the ceilings (keywords on the bounded field schemas), which zod's JSON Schema
 * generator turns into $refs and `maximum`s.
 */
export function schemaCatalog(ceilings: ServerCeilings | undefined): CatalogEntry[] {
  const catalog: CatalogEntry[] = Object.entries(NAMED_SCHEMAS).map(([id, schema]) => [schema, { id }]);
  if (!ceilings) return catalog;
  for (const [key, ceiling] of Object.entries(ceilings.limits)) {
    const field = LimitsInput.shape[key as keyof typeof LimitsInput.shape];
    catalog.push([
      inner(field),
      {
        maximum: ceiling,
        description: `At most ${ceiling} on this server (its ceiling); a tenant policy or intent token may allow less.`,
      },
    ]);
  }
  const sessionBounds = [
    ['idle_timeout_seconds', ceilings.sessionIdleSeconds],
    ['max_lifetime_seconds', ceilings.sessionLifetimeSeconds],
  ] as const;
  for (const [key, ceiling] of sessionBounds) {
    if (ceiling === undefined) continue;
    catalog.push([
      inner(SessionRequest.shape[key]),
      { maximum: ceiling, description: `At most ${ceiling} on this server (its ceiling).` },
    ]);
  }
  return catalog;
}
