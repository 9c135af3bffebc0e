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
  type RequestSchemas,
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

/**
 * Name in the document → the zod schema it is generated from. The request schemas here are the protocol's; the
 * document uses this server's (schemaCatalog), whose limits stop at its ceilings.
 */
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

/** The server's own bounds of a session's timeouts, tighter than the protocol's; shown as the fields' maxima. */
export interface SessionCeilings {
  idleSeconds: number;
  lifetimeSeconds: number;
}

/** A schema and what the document says of it: its name (`id`), or keywords that override the generated ones. */
export type CatalogEntry = readonly [schema: z.core.$ZodType, meta: { id?: string; [key: string]: unknown }];

/** The field schema inside an optional or default wrapper (the one zod's JSON Schema carries the bounds of). */
function inner(schema: z.core.$ZodType): z.core.$ZodType {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault)
    return inner(schema.unwrap() as z.ZodType);
  return schema;
}

/**
 * Every named schema (ids), this server's request schemas (their limits' maxima are its ceilings) under the
 * protocol's names, and the session ceilings (keywords on the bounded fields), which zod's JSON Schema generator
 * turns into $refs and `maximum`s.
 */
export function schemaCatalog(
  requests: RequestSchemas,
  sessions: SessionCeilings | undefined,
): CatalogEntry[] {
  const limits = inner(requests.execution.shape.limits) as z.ZodObject;
  const ownNames: Record<string, z.core.$ZodType> = {
    ExecutionRequest: requests.execution,
    SessionRequest: requests.session,
    CellRequest: requests.cell,
    Limits: limits,
  };
  const named = { ...NAMED_SCHEMAS, ...ownNames };
  const catalog: CatalogEntry[] = Object.entries(named).map(([id, schema]) => [schema, { id }]);
  for (const [key, field] of Object.entries(limits.shape)) {
    const bound = inner(field as z.ZodType) as z.ZodNumber;
    catalog.push([
      bound,
      {
        description: `\`${key}\`: at most ${bound.maxValue} on this server (its ceiling); a tenant policy or intent token may allow less.`,
      },
    ]);
  }
  if (!sessions) return catalog;
  const sessionBounds = [
    ['idle_timeout_seconds', sessions.idleSeconds],
    ['max_lifetime_seconds', sessions.lifetimeSeconds],
  ] as const;
  for (const [key, ceiling] of sessionBounds) {
    catalog.push([
      inner(requests.session.shape[key]),
      { maximum: ceiling, description: `At most ${ceiling} on this server (its ceiling).` },
    ]);
  }
  return catalog;
}
