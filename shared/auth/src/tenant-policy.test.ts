import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthConfigError } from './config-error.ts';
import { loadTenantPolicies } from './tenant-policy.ts';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-policy-'));
  path = join(dir, 'tenants.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const acme = {
  languages: ['javascript', 'typescript'],
  backends: ['isolate', 'docker'],
  limits: { memory_mb: 256 },
  egress_hosts: ['API.Example.com', '*.github.com'],
  credentials: ['github'],
  sessions: true,
  max_concurrent: 2,
  max_queued: 10,
  submissions_per_minute: 60,
};
const minimal = {
  languages: ['javascript'],
  backends: ['isolate'],
  max_concurrent: 1,
  max_queued: 0,
  submissions_per_minute: 6,
};

async function loadError(content: string): Promise<AuthConfigError> {
  await writeFile(path, content);
  try {
    await loadTenantPolicies(path);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthConfigError);
    return error as AuthConfigError;
  }
  throw new Error('the file was accepted');
}

describe('loadTenantPolicies', () => {
  it('loads tenants with canonical hosts, deny-by-default omissions, and a default entry', async () => {
    await writeFile(path, JSON.stringify({ tenants: { acme, small: minimal }, default: minimal }));
    const policies = await loadTenantPolicies(path);
    expect(policies.tenants).toEqual(['acme', 'small']);
    expect(policies.forTenant('acme')?.egress_hosts).toEqual(['api.example.com', '*.github.com']);
    expect(policies.forTenant('small')).toEqual({
      ...minimal,
      limits: {},
      egress_hosts: [],
      credentials: [],
      sessions: false,
      webhooks: [],
      operator: false,
    });
    expect(policies.forTenant('someone-new')).toEqual(policies.forTenant('small'));
    expect(Object.isFrozen(policies.forTenant('acme')?.languages)).toBe(true);
  });

  it('has no policy for an unlisted tenant without a default entry', async () => {
    await writeFile(path, JSON.stringify({ tenants: { acme } }));
    const policies = await loadTenantPolicies(path);
    expect(policies.forTenant('other')).toBeUndefined();
    expect(policies.forTenant('constructor')).toBeUndefined();
  });

  it('names the file and the field of each mistake', async () => {
    expect((await loadError('{')).message).toMatch(new RegExp(`^${path}: is not valid JSON`));
    const cases: [unknown, string, string | RegExp][] = [
      [{}, 'tenants', 'Invalid input: expected record, received undefined'],
      [
        { tenants: { acme: { ...acme, limits: { memory_mb: -1 } } } },
        'tenants.acme.limits.memory_mb',
        'Too small: expected number to be >0',
      ],
      [{ tenants: { acme: { ...acme, max_queue: 3 } } }, 'tenants.acme.max_queue', 'is not a known field'],
      [
        { tenants: { acme: { ...acme, languages: ['cobol'] } } },
        'tenants.acme.languages[0]',
        /^Invalid option: expected one of "javascript"\|/,
      ],
      [
        { tenants: { acme: { ...acme, backends: ['auto'] } } },
        'tenants.acme.backends[0]',
        "'auto' is not a backend; list the backends auto may choose from",
      ],
      [
        { tenants: { acme: { ...acme, egress_hosts: ['10.0.0.1:80'] } } },
        'tenants.acme.egress_hosts[0]',
        'must be a host name or *.domain pattern',
      ],
      [
        { tenants: { acme: { ...acme, max_concurrent: undefined } } },
        'tenants.acme.max_concurrent',
        'Invalid input: expected number, received undefined',
      ],
      [
        { tenants: { acme }, default: { ...minimal, sessions: 'yes' } },
        'default.sessions',
        'Invalid input: expected boolean, received string',
      ],
      [{ tenants: { acme }, defaults: minimal }, 'defaults', 'is not a known field'],
    ];
    for (const [content, field, problem] of cases) {
      const error = await loadError(JSON.stringify(content));
      expect(error.field).toBe(field);
      expect(error.message.startsWith(`${path}: ${field}: `)).toBe(true);
      const detail = error.message.slice(`${path}: ${field}: `.length);
      if (typeof problem === 'string') expect(detail).toBe(problem);
      else expect(detail).toMatch(problem);
    }
    const badTenant = await loadError(JSON.stringify({ tenants: { 'a.b': acme } }));
    expect(badTenant.message).toBe(`${path}: tenants: key "a.b": must be a tenant id of [A-Za-z0-9_-]`);
  });

  it('says when the file cannot be read', async () => {
    await expect(loadTenantPolicies(join(dir, 'missing.json'))).rejects.toThrow(
      new RegExp(`^${join(dir, 'missing.json')}: cannot read the tenant policy file \\(ENOENT`),
    );
  });
});
