// One route → one OpenAPI operation: parameters, request body and responses from the route's zod schemas (named
// schemas as $refs), its error responses from the error-code table, its examples, its tag. A route documents
// itself with `operationId` (required), `summary`, `description`, optionally `errorCodes` (the codes it can
// answer beyond what its shape implies), `responseDescriptions`, `tags` (else the first path segment after
// /v1) and `security: []` for a route that needs no credential.

import type { ErrorCode } from '@airlock/protocol';
import type { RouteOptions } from 'fastify';
import type { z } from 'zod';
import type { CatalogEntry } from './components.ts';
import { errorResponses, impliedCodes } from './error-responses.ts';
import { EXAMPLES, type Example } from './examples.ts';
import { type JsonSchema, toJsonSchema } from './json-schema.ts';

declare module 'fastify' {
  interface FastifySchema {
    /** Error codes this route answers beyond those its shape implies (bad body, missing token, …). */
    errorCodes?: readonly ErrorCode[];
    /** What each success status means, where the reason phrase would say too little. */
    responseDescriptions?: Readonly<Record<number, string>>;
  }
}

type Json = Record<string, unknown>;
type ContentResponse = { description?: string; content: Record<string, { schema: z.ZodType }> };

const REASON: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No content',
};

export interface OperationContext {
  catalog: readonly CatalogEntry[];
  tokenMode: boolean;
  bodyLimitBytes: number;
}

/** The name a route's trailing wildcard (`*`, the rest of the path) has in the document. */
const WILDCARD_NAME = 'path';

/** `/v1/executions/:id` → `/v1/executions/{id}`; a trailing wildcard becomes `{path}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\/\*$/, `/{${WILDCARD_NAME}}`);
}

/** The tag of a path: its first segment after the version (`/v1/sessions/{id}` → `sessions`). */
export function tagOf(url: string): string {
  const segments = url.split('/').filter((s) => s !== '' && !/^v\d+$/.test(s));
  return segments[0] ?? 'service';
}

function isZod(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, letter: string) => dash + letter.toUpperCase());
}

function parameters(ctx: OperationContext, schema: unknown, where: 'query' | 'path' | 'header'): Json[] {
  if (!isZod(schema)) return [];
  const json = toJsonSchema(ctx.catalog, schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name: where === 'header' ? headerName(name) : where === 'path' && name === '*' ? WILDCARD_NAME : name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

function media(schema: JsonSchema, examples: Record<string, Example> | undefined): Json {
  return { schema, ...(examples ? { examples } : {}) };
}

function successResponses(ctx: OperationContext, route: RouteOptions, operationId: string): Json {
  const declared = (route.schema?.response ?? {}) as Record<string, unknown>;
  const examples = EXAMPLES[operationId]?.responses ?? {};
  const responses: Json = {};
  for (const [status, value] of Object.entries(declared)) {
    if (!/^[23]\d\d$/.test(status)) continue; // error statuses come from the error-code table
    const description =
      route.schema?.responseDescriptions?.[Number(status)] ??
      (isZod(value) ? undefined : (value as ContentResponse).description) ??
      REASON[status] ??
      'Success';
    const content: Json = {};
    if (isZod(value)) {
      content['application/json'] = media(toJsonSchema(ctx.catalog, value, 'output'), examples[status]);
    } else {
      for (const [type, { schema }] of Object.entries((value as ContentResponse).content)) {
        content[type] = media(toJsonSchema(ctx.catalog, schema, 'output'), examples[status]);
      }
    }
    responses[status] = { description, content };
  }
  return responses;
}

/** The operation of one route, or undefined for a route the document leaves out. */
export function operationOf(ctx: OperationContext, route: RouteOptions): Json | undefined {
  const schema = route.schema;
  if (!schema || schema.hide) return undefined;
  const operationId = schema.operationId as string | undefined;
  const publicRoute = Array.isArray(schema.security) && schema.security.length === 0;
  const params = [
    ...parameters(ctx, schema.params, 'path'),
    ...parameters(ctx, schema.querystring, 'query'),
    ...parameters(ctx, schema.headers, 'header'),
  ];
  const codes = [
    ...impliedCodes({
      hasBody: schema.body !== undefined,
      hasParameters: [schema.params, schema.querystring, schema.headers].some((part) => part !== undefined),
      authenticated: !publicRoute,
      tokenMode: ctx.tokenMode,
    }),
    ...(schema.errorCodes ?? []),
  ];
  const requestExamples = operationId ? EXAMPLES[operationId]?.request : undefined;
  const operation: Json = {
    ...(operationId ? { operationId } : {}),
    tags: (schema.tags as string[] | undefined) ?? [tagOf(route.url)],
    ...(schema.summary ? { summary: schema.summary } : {}),
    ...(schema.description ? { description: schema.description } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(isZod(schema.body)
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': media(toJsonSchema(ctx.catalog, schema.body, 'input'), requestExamples),
            },
          },
        }
      : {}),
    responses: {
      ...successResponses(ctx, route, operationId ?? ''),
      ...errorResponses(codes, ctx.bodyLimitBytes),
    },
    ...(publicRoute ? { security: [] } : {}),
  };
  return operation;
}
