// pip and requests in the python image, through the egress proxy, on the docker (runc) and gvisor (runsc)
// backends via the real REST API: a run whose allowlist names a loopback package index (a PEP 503 directory
// with a wheel built on the host, reached as `pypi.test` through the proxy's hosts table and a test-only
// allowance) pip-installs a package into the user site and imports it in the same run; without the allowlist
// entry the install fails and no request reaches the index; requests reaches the index through the proxy. A
// python session (no network) imports in its next cell what a cell pip-installed from a wheel put in its folder.
// Traffic goes to loopback only; leaves no container, network or firewall rule behind.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerSandbox } from '@airlock/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, expectNoContainersLeft } from './support/containers.ts';
import { type EgressScenario, egressSummary, startEgressScenario } from './support/egress.ts';
import { type PackageIndex, startPackageIndex } from './support/package-index.ts';
import { call, run, type TestService } from './support/service.ts';

const SLOW = 180_000;

let index: PackageIndex;
let scenario: EgressScenario;
let svc: TestService;
let instances: string[] = [];
/** The index's temp folder: removed after the file, whatever happened (the index's close removes only its own). */
let indexRoot: string | undefined;

beforeAll(async () => {
  indexRoot = await mkdtemp(join(tmpdir(), 'airlock-pip-'));
  index = await startPackageIndex(join(indexRoot, 'index'));
  scenario = await startEgressScenario(
    {
      prefix: 'airlock-pip-e2e-',
      tlsNames: ['api.test'],
      hosts: ['upstream.test', 'pypi.test'],
      canary: 'unused',
    },
    { AIRLOCK_BACKENDS: 'docker,gvisor', AIRLOCK_POOL_SIZE: '0', AIRLOCK_MAX_WAIT_SECONDS: '300' },
    [index.port],
  );
  ({ svc } = scenario);
  instances = BACKENDS.map((b) => (svc.service.registry.get(b) as ContainerSandbox).instance);
}, SLOW);

afterAll(async () => {
  await scenario?.close();
  await index?.close();
  if (indexRoot) await rm(indexRoot, { recursive: true, force: true });
  for (const instance of instances) await expectNoContainersLeft(instance);
}, SLOW);

// What a user writes: pip through the proxy (HTTP_PROXY is set), then import in the same run.
const PIP_INSTALL = `
import os, subprocess, sys
index = f"http://pypi.test:{os.environ['INDEX_PORT']}/simple"
pip = subprocess.run([sys.executable, "-m", "pip", "install", "--index-url", index, "--trusted-host", "pypi.test",
                      "tinypkg"], capture_output=True, text=True)
print("pip exit", pip.returncode)
if pip.returncode:
    print(pip.stdout + pip.stderr, file=sys.stderr)
try:
    import tinypkg
    print("answer", tinypkg.answer(), tinypkg.VERSION, tinypkg.__file__)
except ImportError as error:
    print("import failed:", error)
`;

/** Runs `code` on `backend` with egress `allow`; returns its result and the paths the index was asked for. */
async function submit(backend: string, code: string, allow: Array<{ host: string; ports: number[] }>) {
  const before = index.requests.length;
  const execution = await run(
    svc.url,
    {
      language: 'python',
      backend,
      code,
      env: { INDEX_PORT: String(index.port) },
      limits: { wall_time_ms: 60_000 },
      network: { egress: 'proxy', allow },
    },
    240,
  );
  return { result: execution.result, reached: index.requests.slice(before) };
}

const allowIndex = () => [{ host: 'pypi.test', ports: [index.port] }];

describe.each(BACKENDS)('python packages through the egress proxy on %s', (backend) => {
  it(
    'pip installs a package from the allowlisted loopback index and the same run imports it',
    async () => {
      const { result, reached } = await submit(backend, PIP_INSTALL, allowIndex());
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(
        'pip exit 0\nanswer 42 1.0 /tmp/.local/lib/python3.11/site-packages/tinypkg/__init__.py\n',
      );
      expect(result.outcome).toBe('success');
      const wheelPath = `/packages/${index.wheel}`;
      expect(reached).toEqual(['/simple/tinypkg/', wheelPath]);
      expect(egressSummary(result.egress)).toEqual([
        ['GET', 'http', 'pypi.test', index.port, '/simple/tinypkg/', 'allowed', 200],
        ['GET', 'http', 'pypi.test', index.port, wheelPath, 'allowed', 200],
      ]);
    },
    SLOW,
  );

  it(
    'without the index in the allowlist the install fails, nothing reaches the index, the import fails',
    async () => {
      const { result, reached } = await submit(backend, PIP_INSTALL, [
        { host: 'upstream.test', ports: [index.port] },
      ]);
      expect(result.stdout).toBe("pip exit 1\nimport failed: No module named 'tinypkg'\n");
      expect(result.stderr).toContain('ERROR: No matching distribution found for tinypkg');
      expect(reached).toEqual([]);
      const records = result.egress;
      expect(records.length).toBeGreaterThan(0);
      for (const record of records)
        expect(record).toMatchObject({ host: 'pypi.test', decision: 'denied', status: 403 });
    },
    SLOW,
  );

  it(
    'requests is installed and reaches the allowlisted index through the proxy',
    async () => {
      const { result, reached } = await submit(
        backend,
        `import os, requests
r = requests.get(f"http://pypi.test:{os.environ['INDEX_PORT']}/simple/tinypkg/", timeout=30)
print(requests.__version__, r.status_code, "${index.wheel}" in r.text)`,
        allowIndex(),
      );
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('2.28.1 200 True\n');
      expect(reached).toEqual(['/simple/tinypkg/']);
      expect(egressSummary(result.egress)).toEqual([
        ['GET', 'http', 'pypi.test', index.port, '/simple/tinypkg/', 'allowed', 200],
      ]);
    },
    SLOW,
  );
});

describe.each(BACKENDS)('pip in a python session on %s', (backend) => {
  it(
    'a cell pip-installs a wheel put in the session folder and the next cell imports it',
    async () => {
      const opened = await call(svc.url, 'POST', '/v1/sessions', { language: 'python', backend });
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      const id: string = opened.body.id;
      const cell = async (code: string) => {
        const response = await call(svc.url, 'POST', `/v1/sessions/${id}/executions`, { code });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
        return response.body.result;
      };
      try {
        const stored = await fetch(`${svc.url}/v1/sessions/${id}/files/${index.wheel}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream' },
          body: await readFile(index.wheelFile),
        });
        expect(stored.status).toBe(201);
        const installed = await cell(
          `import subprocess, sys\npip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "${index.wheel}"], capture_output=True, text=True)\nprint(pip.returncode, pip.stderr)`,
        );
        expect(installed.stdout).toBe('0 \n');
        const imported = await cell('import tinypkg\nprint(tinypkg.answer(), tinypkg.__file__)');
        expect(imported.stderr).toBe('');
        expect(imported.stdout).toBe('42 /tmp/.local/lib/python3.11/site-packages/tinypkg/__init__.py\n');
      } finally {
        expect((await call(svc.url, 'DELETE', `/v1/sessions/${id}`)).status).toBe(200);
      }
    },
    SLOW,
  );
});
