// Property-based fuzz of the request schema through the real HTTP server: thousands of generated bad requests,
// none answered with a 5xx, and the service still serves afterwards.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startService, type TestService } from './support/service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startService({ AIRLOCK_MAX_QUEUED: '5000' });
});
afterAll(async () => {
  await svc?.close();
});

const badValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
);

/** A request that breaks at least one rule: a wrong field, a wrong type, an extra key, or raw garbage. */
const badRequest = fc.oneof(
  fc.record({ language: badValue, code: badValue }, { requiredKeys: [] }),
  fc.record({
    language: fc.constantFrom('javascript', 'typescript'),
    code: fc.string(),
    limits: fc.dictionary(
      fc.constantFrom('wall_time_ms', 'memory_mb', 'cpu_time_ms', 'output_bytes', 'x'),
      badValue,
    ),
  }),
  fc.record({
    language: fc.constantFrom('javascript'),
    code: fc.string(),
    files: fc.array(
      fc.record({ path: fc.string(), content: badValue, encoding: badValue }, { requiredKeys: [] }),
      {
        maxLength: 4,
      },
    ),
  }),
  fc.record({
    language: fc.constantFrom('javascript'),
    code: fc.string(),
    env: fc.dictionary(fc.string(), badValue),
  }),
  fc.record({ language: fc.constantFrom('javascript'), code: fc.string(), extra: badValue }),
  fc.json().map((text) => ({ raw: text })),
  fc.string().map((text) => ({ raw: text })),
);

describe('schema fuzz', () => {
  it('answers 2,000 generated bad requests with coded 4xx and never a 5xx', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(badRequest, fc.constantFrom('', '?wait=0', '?wait=abc'), async (request, query) => {
        const body = 'raw' in request && Object.keys(request).length === 1 ? String(request.raw) : request;
        const response = await call(svc.url, 'POST', `/v1/executions${query}`, body);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400) {
          expect(response.body.error.code).toEqual(expect.any(String));
        }
        if (response.status === 201 && response.body.status !== 'finished') {
          await call(svc.url, 'DELETE', `/v1/executions/${response.body.id}`);
        }
      }),
      { numRuns: 2_000 },
    );
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    expect(statuses.get(400)).toBeGreaterThan(1_000);
    const alive = await call(svc.url, 'POST', '/v1/executions?wait=20', {
      language: 'javascript',
      code: 'console.log(1)',
    });
    expect(alive.body.result.stdout).toBe('1\n');
  }, 300_000);
});
