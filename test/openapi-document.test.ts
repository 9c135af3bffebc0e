// The OpenAPI document as a product: the live /openapi.json of a service in local development mode and of one
// that requires intent tokens passes Redocly's recommended ruleset (redocly.yaml) with no error and no warning;
// it names its schemas, gives every operation an operationId and a tag, answers errors per status with coded
// bodies and Retry-After, streams events as text/event-stream, shows this server's ceilings as maxima; and the
// docs page says Airlock and can authorize with a Bearer token in token mode.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestIssuer } from '@airlock/auth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startService, type TestService } from './support/service.ts';
import { tenantPolicy, tokenSettings } from './support/tokens.ts';

const ROOT = resolve(import.meta.dirname, '..');
const REDOCLY = join(ROOT, 'node_modules', '.bin', 'redocly');

let dir: string;
let local: TestService;
let token: TestService;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-openapi-'));
  const issuer = await createTestIssuer();
  local = await startService({ AIRLOCK_MAX_MEMORY_MB: '512' });
  token = await startService(await tokenSettings(dir, issuer, { acme: tenantPolicy() }));
}, 180_000);
afterAll(async () => {
  await local?.close();
  await token?.close();
  await rm(dir, { recursive: true, force: true });
});

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
}

/** Redocly CLI's report on the document, linted with the repository's redocly.yaml; no traffic leaves the host. */
async function lint(document: unknown, name: string): Promise<LintReport> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(document));
  const run = promisify(execFile);
  const env = {
    ...process.env,
    REDOCLY_TELEMETRY: 'off',
    REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
    CI: 'true',
  };
  const args = ['lint', '--config', join(ROOT, 'redocly.yaml'), '--format', 'json', file];
  const output = await run(REDOCLY, args, { env, cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).then(
    (done) => done.stdout,
    (failed: { stdout?: string; stderr?: string }) => {
      if (!failed.stdout) throw new Error(`redocly lint did not report: ${failed.stderr}`);
      return failed.stdout;
    },
  );
  return JSON.parse(output) as LintReport;
}

const operations = (doc: any) =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops as Record<string, any>).map(([method, op]) => ({ path, method, op })),
  );

describe('the OpenAPI document', () => {
  it.each(['local', 'token'] as const)(
    'passes Redocly’s recommended ruleset with no error and no warning (%s mode)',
    async (mode) => {
      const svc = mode === 'local' ? local : token;
      const { body } = await call(svc.url, 'GET', '/openapi.json');
      const report = await lint(body, mode);
      const found = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
      expect(found).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    },
    120_000,
  );

  it('names its schemas, generated from the zod schemas, and refers to them', async () => {
    const { body } = await call(local.url, 'GET', '/openapi.json');
    expect(Object.keys(body.components.schemas)).toEqual(
      expect.arrayContaining([
        'Execution',
        'ExecutionRequest',
        'ExecutionResult',
        'Session',
        'SessionRequest',
        'CellRequest',
        'Error',
        'Runtime',
      ]),
    );
    const post = body.paths['/v1/executions'].post;
    expect(post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/ExecutionRequest',
    });
    expect(post.responses['201'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Execution',
    });
    expect(body.components.schemas.ExecutionRequest.required).toEqual(['language', 'code']);
    expect(body.components.schemas.Error.properties.error.properties.errors.items).toEqual({
      $ref: '#/components/schemas/FieldIssue',
    });
  });

  it('gives every operation an operationId and a tag, grouped under declared tags', async () => {
    const { body } = await call(local.url, 'GET', '/openapi.json');
    const ops = operations(body);
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids).toEqual(
      expect.arrayContaining([
        'createExecution',
        'getExecution',
        'cancelExecution',
        'streamExecutionEvents',
        'createSession',
        'getSession',
        'closeSession',
        'runCell',
        'listRuntimes',
      ]),
    );
    expect(new Set(ids).size).toBe(ids.length);
    const declared = body.tags.map((t: { name: string }) => t.name);
    for (const { op } of ops) expect(declared).toEqual(expect.arrayContaining(op.tags));
    expect(declared).toEqual(expect.arrayContaining(['executions', 'sessions', 'runtimes']));
  });

  it('answers errors per status with coded examples, Retry-After on 429 and 503, and no wildcard', async () => {
    const { body } = await call(local.url, 'GET', '/openapi.json');
    const responses = body.paths['/v1/executions'].post.responses;
    for (const status of ['400', '409', '413', '415', '422', '429', '503']) {
      expect(responses[status].content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/Error',
      });
    }
    expect(Object.keys(responses).some((s) => /X/i.test(s))).toBe(false);
    expect(Object.keys(responses['429'].content['application/json'].examples).sort()).toEqual([
      'queue_full',
      'quota_exceeded',
      'rate_limited',
    ]);
    expect(responses['429'].headers['Retry-After'].schema.type).toBe('integer');
    expect(responses['503'].headers['Retry-After']).toBeDefined();
    expect(responses['409'].content['application/json'].examples.idempotency_conflict.value.error.code).toBe(
      'idempotency_conflict',
    );
    const getOne = body.paths['/v1/executions/{id}'].get.responses;
    expect(getOne['404'].content['application/json'].examples.execution_not_found.value.error.code).toBe(
      'execution_not_found',
    );
    const text = JSON.stringify(body);
    expect(text).not.toContain('"code":"string"');
    expect(text).not.toContain(String(Number.MIN_SAFE_INTEGER));
    expect(text).not.toContain(String(Number.MAX_SAFE_INTEGER));
  });

  it('streams events as text/event-stream with an example stream', async () => {
    const { body } = await call(local.url, 'GET', '/openapi.json');
    const ok = body.paths['/v1/executions/{id}/events'].get.responses['200'];
    const stream = ok.content['text/event-stream'];
    expect(stream.examples.events.value).toContain('event: result');
  });

  it("shows this server's ceilings as the maxima of the limits", async () => {
    const { body } = await call(local.url, 'GET', '/openapi.json');
    expect(body.components.schemas.Limits.properties.memory_mb.maximum).toBe(512);
    // The request is refused above it, as the document says.
    const refused = await call(local.url, 'POST', '/v1/executions', {
      language: 'javascript',
      code: '1',
      limits: { memory_mb: 513 },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('limits.memory_mb');
  });

  it('declares the Bearer intent token in token mode, and no credential in local development mode', async () => {
    const tokenDoc = (await call(token.url, 'GET', '/openapi.json')).body;
    expect(tokenDoc.components.securitySchemes.intentToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(tokenDoc.security).toEqual([{ intentToken: [] }]);
    expect(tokenDoc.paths['/v1/executions'].post.responses['401']).toBeDefined();
    expect(tokenDoc.paths['/v1/runtimes'].get.security).toEqual([]);
    const localDoc = (await call(local.url, 'GET', '/openapi.json')).body;
    expect(localDoc.components.securitySchemes).toBeUndefined();
    expect(localDoc.info.description).toContain('local development mode');
    expect(localDoc.paths['/v1/executions'].post.responses['401']).toBeUndefined();
  });
});

describe('the docs page', () => {
  it('is titled Airlock, shows its own logo, and keeps a Bearer authorization', async () => {
    const page = await fetch(`${token.url}/docs/static/index.html`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<title>Airlock API</title>');
    expect(html).not.toMatch(/<title>Swagger UI<\/title>/);
    const init = await (await fetch(`${token.url}/docs/static/swagger-initializer.js`)).text();
    expect(init).toContain('"persistAuthorization":true');
    const logo = init.match(/data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/)?.[1];
    expect(Buffer.from(logo ?? '', 'base64').toString('utf8')).toContain('Airlock');
    const config = (await (await fetch(`${token.url}/docs/json`)).json()) as any;
    expect(config.components.securitySchemes.intentToken.scheme).toBe('bearer');
  });
});
