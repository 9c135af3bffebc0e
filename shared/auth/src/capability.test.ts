import { ExecutionRequest, resolveLimits } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { type CapabilityRequest, effectiveCapability, narrowCeilings } from './capability.ts';
import type { IntentClaim } from './claims.ts';
import { parseTenantPolicies } from './tenant-policy.ts';

const policy = parseTenantPolicies(
  {
    tenants: {
      acme: {
        languages: ['javascript', 'typescript'],
        backends: ['isolate', 'docker', 'gvisor'],
        limits: { memory_mb: 256, wall_time_ms: 10_000 },
        egress_hosts: ['api.example.com', '*.github.com', 'pypi.org'],
        credentials: ['github', 'pypi'],
        sessions: true,
        callback_hosts: ['*.hooks.example.com'],
        webhooks: [
          { url: 'https://all.example.com/in', events: ['execution.finished'], secret_ref: 'acme-hooks' },
        ],
        max_concurrent: 2,
        max_queued: 10,
        submissions_per_minute: 60,
      },
      strict: {
        languages: ['javascript'],
        backends: ['isolate'],
        max_concurrent: 1,
        max_queued: 1,
        submissions_per_minute: 1,
      },
    },
  },
  'inline',
);
const acme = policy.forTenant('acme')!;
const strict = policy.forTenant('strict')!;

const request = (
  fields: Record<string, unknown> = {},
  access: Partial<CapabilityRequest> = {},
): CapabilityRequest => ({
  ...ExecutionRequest.parse({ language: 'javascript', code: '1', ...fields }),
  ...access,
});
const withIntent = (intent: IntentClaim | null) => ({ intent });
/** The decision refusing the request for `field`, saying `reason`. */
const refused = (field: string, reason: string) => ({ ok: false, field, reason });

describe('effectiveCapability', () => {
  it('grants what the request asks when intent and tenant both allow it, exposing the narrowest ceilings', () => {
    const intent: IntentClaim = {
      languages: ['javascript'],
      limits: { memory_mb: 512, wall_time_ms: 5_000, output_bytes: 1_000 },
      egress_hosts: ['*.github.com'],
      credentials: ['github'],
      sessions: true,
    };
    const decision = effectiveCapability(
      request(
        { limits: { memory_mb: 128 } },
        { egress_hosts: ['API.GitHub.com.', 'api.github.com'], credentials: ['github'], session: true },
      ),
      withIntent(intent),
      acme,
    );
    expect(decision).toEqual({
      ok: true,
      capability: {
        language: 'javascript',
        backend: 'auto',
        backends: ['isolate', 'docker', 'gvisor'],
        ceilings: { memory_mb: 256, wall_time_ms: 5_000, output_bytes: 1_000 },
        egress_hosts: ['api.github.com'],
        credentials: ['github'],
        session: true,
      },
    });
  });

  it('narrows templates: the tenant list, then the intent list; a request without one is not narrowed', () => {
    const templated = parseTenantPolicies(
      { tenants: { t: { ...acme, templates: ['c', 'demo'] } } },
      'inline',
    ).forTenant('t')!;
    const asks = (template: string, intent: IntentClaim | null) =>
      effectiveCapability(request({ template }), withIntent(intent), templated);
    expect(asks('c', null)).toMatchObject({ ok: true, capability: { template: 'c' } });
    expect(asks('rust', null)).toEqual(
      refused('template', "template 'rust' is not allowed by the tenant policy"),
    );
    expect(asks('demo', { templates: ['c'] })).toEqual(
      refused('template', "template 'demo' is not allowed by the intent token"),
    );
    expect(effectiveCapability(request(), withIntent({ templates: [] }), templated)).toMatchObject({
      ok: true,
    });
    // A tenant without a list allows every template; the intent still narrows.
    expect(
      effectiveCapability(request({ template: 'c' }), withIntent({ templates: ['demo'] }), acme),
    ).toMatchObject({
      ok: false,
      field: 'template',
    });
  });

  it('with no intent claim, is bounded by the tenant policy alone', () => {
    const decision = effectiveCapability(
      request({ backend: 'docker' }, { egress_hosts: ['pypi.org'] }),
      withIntent(null),
      acme,
    );
    expect(decision).toMatchObject({
      ok: true,
      capability: { backends: ['docker'], egress_hosts: ['pypi.org'], ceilings: { memory_mb: 256 } },
    });
    expect(effectiveCapability(request({ language: 'typescript' }), withIntent(null), strict)).toEqual(
      refused('language', "language 'typescript' is not allowed by the tenant policy"),
    );
  });

  it('refuses a language outside the intent', () => {
    expect(
      effectiveCapability(
        request({ language: 'typescript' }),
        withIntent({ languages: ['javascript'] }),
        acme,
      ),
    ).toEqual(refused('language', "language 'typescript' is not allowed by the intent token"));
  });

  it('refuses a backend outside the intent, and auto when intent and tenant share none', () => {
    expect(
      effectiveCapability(request({ backend: 'docker' }), withIntent({ backends: ['isolate'] }), acme),
    ).toEqual(refused('backend', "backend 'docker' is not allowed by the intent token"));
    expect(effectiveCapability(request({ backend: 'docker' }), withIntent(null), strict)).toMatchObject({
      reason: "backend 'docker' is not allowed by the tenant policy",
    });
    expect(effectiveCapability(request(), withIntent({ backends: ['gvisor'] }), acme)).toMatchObject({
      ok: true,
      capability: { backend: 'auto', backends: ['gvisor'] },
    });
    expect(effectiveCapability(request(), withIntent({ backends: ['docker'] }), strict)).toEqual(
      refused(
        'backend',
        "backend 'auto' has nothing to choose from: no backend is allowed by both the intent token and the tenant policy",
      ),
    );
  });

  it('refuses a limit over either ceiling, naming the tighter one, and never clamps', () => {
    expect(effectiveCapability(request({ limits: { memory_mb: 512 } }), withIntent(null), acme)).toEqual(
      refused('limits.memory_mb', 'limits.memory_mb: 512 is above the tenant policy ceiling of 256'),
    );
    expect(
      effectiveCapability(
        request({ limits: { memory_mb: 200 } }),
        withIntent({ limits: { memory_mb: 128 } }),
        acme,
      ),
    ).toEqual(refused('limits.memory_mb', 'limits.memory_mb: 200 is above the intent token ceiling of 128'));
    expect(
      effectiveCapability(
        request({ limits: { cpu_time_ms: 2_000 } }),
        withIntent({ limits: { cpu_time_ms: 1_000 } }),
        acme,
      ),
    ).toMatchObject({
      field: 'limits.cpu_time_ms',
      reason: 'limits.cpu_time_ms: 2000 is above the intent token ceiling of 1000',
    });
    expect(effectiveCapability(request({ limits: { memory_mb: 256 } }), withIntent(null), acme).ok).toBe(
      true,
    );
  });

  it('refuses an egress host outside the intent or the tenant, and a malformed one', () => {
    const intent = { egress_hosts: ['api.example.com'] };
    expect(
      effectiveCapability(request({}, { egress_hosts: ['pypi.org'] }), withIntent(intent), acme),
    ).toEqual(refused('egress_hosts[0]', "egress host 'pypi.org' is not allowed by the intent token"));
    expect(
      effectiveCapability(
        request({}, { egress_hosts: ['api.example.com', 'evil.test'] }),
        withIntent(null),
        acme,
      ),
    ).toEqual(refused('egress_hosts[1]', "egress host 'evil.test' is not allowed by the tenant policy"));
    // A wildcard request is only as wide as an allowed wildcard; the apex is not under its own wildcard.
    expect(
      effectiveCapability(request({}, { egress_hosts: ['*.github.com'] }), withIntent(null), acme).ok,
    ).toBe(true);
    expect(
      effectiveCapability(request({}, { egress_hosts: ['github.com'] }), withIntent(null), acme),
    ).toMatchObject({
      reason: "egress host 'github.com' is not allowed by the tenant policy",
    });
    expect(
      effectiveCapability(request({}, { egress_hosts: ['*.api.example.com'] }), withIntent(null), acme).ok,
    ).toBe(false);
    expect(
      effectiveCapability(request({}, { egress_hosts: ['x.test@api.example.com'] }), withIntent(null), acme),
    ).toEqual(refused('egress_hosts[0]', 'egress host "x.test@api.example.com" is not a valid host name'));
  });

  it('refuses a credential outside the intent or the tenant', () => {
    expect(
      effectiveCapability(
        request({}, { credentials: ['pypi'] }),
        withIntent({ credentials: ['github'] }),
        acme,
      ),
    ).toEqual(refused('credentials[0]', 'credential "pypi" is not allowed by the intent token'));
    expect(effectiveCapability(request({}, { credentials: ['aws'] }), withIntent(null), acme)).toMatchObject({
      reason: 'credential "aws" is not allowed by the tenant policy',
    });
    expect(
      effectiveCapability(request({}, { credentials: ['github'] }), withIntent({ credentials: [] }), acme),
    ).toMatchObject({
      reason: 'credential "github" is not allowed by the intent token',
    });
  });

  it('refuses a session when the intent or the tenant does not allow sessions', () => {
    expect(
      effectiveCapability(request({}, { session: true }), withIntent({ sessions: false }), acme),
    ).toEqual(refused('session', 'sessions are not allowed by the intent token'));
    expect(
      effectiveCapability(request({}, { session: true }), withIntent({ sessions: true }), strict),
    ).toEqual(refused('session', 'sessions are not allowed by the tenant policy'));
    expect(effectiveCapability(request({}, { session: true }), withIntent(null), acme).ok).toBe(true);
  });

  it("refuses a callback host outside the tenant's or the intent's callback_hosts; absent means any", () => {
    const at = (host: string) => request({}, { callback_host: host });
    expect(effectiveCapability(at('a.hooks.example.com'), withIntent(null), acme).ok).toBe(true);
    expect(effectiveCapability(at('evil.example.org'), withIntent(null), acme)).toEqual(
      refused('callback.url', "callback host 'evil.example.org' is not allowed by the tenant policy"),
    );
    expect(
      effectiveCapability(
        at('b.hooks.example.com'),
        withIntent({ callback_hosts: ['a.hooks.example.com'] }),
        acme,
      ),
    ).toEqual(
      refused('callback.url', "callback host 'b.hooks.example.com' is not allowed by the intent token"),
    );
    // strict names no callback_hosts: the server's address checks are the only bound.
    expect(effectiveCapability(at('anything.example.net'), withIntent(null), strict).ok).toBe(true);
    expect(acme.webhooks).toEqual([
      { url: 'https://all.example.com/in', events: ['execution.finished'], secret_ref: 'acme-hooks' },
    ]);
  });

  it('an empty allow-list in the intent allows nothing', () => {
    expect(effectiveCapability(request(), withIntent({ languages: [] }), acme)).toMatchObject({
      ok: false,
      field: 'language',
    });
  });
});

describe('narrowCeilings', () => {
  it('lets the server fill defaults under the lower of its own and the capability ceilings', () => {
    const server = { wall_time_ms: 30_000, cpu_time_ms: 30_000, memory_mb: 512, output_bytes: 1_000_000 };
    const decision = effectiveCapability(
      request(),
      withIntent({ limits: { memory_mb: 1024, output_bytes: 500 } }),
      acme,
    );
    if (!decision.ok) throw new Error(decision.reason);
    const ceilings = narrowCeilings(server, decision.capability);
    expect(ceilings).toEqual({
      wall_time_ms: 10_000,
      cpu_time_ms: 30_000,
      memory_mb: 256,
      output_bytes: 500,
    });
    expect(resolveLimits({}, { defaults: server, ceilings })).toEqual(ceilings);
  });
});
