// Egress end to end on the docker (runc) and gvisor (runsc) backends, through the real REST API:
// python urllib and curl reach an allowed loopback upstream through the proxy (opened by a test-only
// allowance; names come from a hosts table, never DNS), a disallowed host is refused with an egress record,
// every other port on the egress network's gateway is unreachable, there is no resolver, and a credential
// reaches a TLS upstream in its header while the sandbox only ever holds the sentinel (classes 1, 3–8).
// Leaves no container, network or firewall rule behind.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server } from 'node:net';
import type { Upstream } from '@airlock/egress-proxy/testing';
import type { ContainerSandbox } from '@airlock/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, expectNoContainersLeft } from './support/containers.ts';
import {
  type EgressScenario,
  egressSummary,
  expectCredentialInjected,
  finishedRecord,
  readAudit,
  secretForms,
  startEgressScenario,
} from './support/egress.ts';
import { run, type TestService } from './support/service.ts';

const SLOW = 180_000;
const CANARY = `canary-${Math.random().toString(36).slice(2)}-${Date.now()}`;

let scenario: EgressScenario;
let svc: TestService;
let upstream: Upstream;
let tls: Upstream;
let instances: string[] = [];
let gateway = '';
let trapTcp: Server;
let trapUdp: UdpSocket;
const trapped = { tcp: 0, udp: 0 };

beforeAll(async () => {
  scenario = await startEgressScenario(
    {
      prefix: 'airlock-egress-e2e-',
      tlsNames: ['api.test'],
      hosts: ['upstream.test', 'api.test'],
      canary: CANARY,
    },
    { AIRLOCK_BACKENDS: 'isolate,docker,gvisor', AIRLOCK_POOL_SIZE: '0', AIRLOCK_MAX_WAIT_SECONDS: '300' },
  );
  ({ svc } = scenario);
  ({ upstream, tls } = scenario.upstreams);
  gateway = scenario.network.gateway;
  instances = BACKENDS.map((b) => (svc.service.registry.get(b) as ContainerSandbox).instance);
  // Traps on the gateway address: a sandbox must not reach them.
  trapTcp = createServer((s) => {
    trapped.tcp++;
    s.destroy();
  }).listen(0, gateway);
  trapUdp = createSocket('udp4', () => trapped.udp++).bind(0, gateway);
  await Promise.all([once(trapTcp, 'listening'), once(trapUdp, 'listening')]);
}, SLOW);

afterAll(async () => {
  trapTcp?.close();
  trapUdp?.close();
  await scenario?.close();
  for (const instance of instances) await expectNoContainersLeft(instance);
}, SLOW);

const allow = () => [
  { host: 'upstream.test', ports: [upstream.port] },
  { host: 'api.test', ports: [tls.port] },
];

const PYTHON_PROBE = `
import errno, json, os, socket, urllib.error, urllib.parse, urllib.request
up = os.environ['UP']
r = urllib.request.urlopen(f'http://upstream.test:{up}/py?x=1', timeout=30)
print('allowed', r.status, json.loads(r.read())['url'])
for url in (f'http://other.test:{up}/', 'http://169.254.169.254/latest/meta-data/', f'http://127.0.0.1:{up}/'):
    try:
        urllib.request.urlopen(url, timeout=30)
        print('reached', url)
    except urllib.error.HTTPError as e:
        print('denied', e.code, json.loads(e.read())['error']['code'])
proxy = urllib.parse.urlsplit(os.environ['HTTP_PROXY'])
def tcp(host, port):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        return 'open'
    except socket.timeout:
        return 'timeout'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
print('proxy-port', tcp(proxy.hostname, proxy.port))
print('gateway-other-port', tcp(proxy.hostname, int(os.environ['TRAP_TCP'])))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b'airlock', (proxy.hostname, int(os.environ['TRAP_UDP'])))
print('dns-resolver', tcp('127.0.0.11', 53))
print('upstream-direct', tcp('127.0.0.1', int(up)))
`;

describe.each(BACKENDS)('egress on %s', (backend) => {
  it(
    'python urllib reaches the allowed upstream through the proxy; everything else is refused and recorded',
    async () => {
      const before = upstream.requests.length;
      const execution = await run(
        svc.url,
        {
          language: 'python',
          backend,
          code: PYTHON_PROBE,
          env: {
            UP: String(upstream.port),
            TRAP_TCP: String((trapTcp.address() as AddressInfo).port),
            TRAP_UDP: String(trapUdp.address().port),
          },
          limits: { wall_time_ms: 60_000 },
          network: { egress: 'proxy', allow: allow() },
        },
        240,
      );
      expect(execution.result.stderr).toBe('');
      expect(execution.result.stdout).toBe(
        [
          'allowed 200 /py?x=1',
          'denied 403 egress_denied',
          'denied 403 egress_denied',
          'denied 403 egress_denied',
          'proxy-port open',
          'gateway-other-port timeout',
          'dns-resolver timeout',
          'upstream-direct ECONNREFUSED',
          '',
        ].join('\n'),
      );
      expect(execution.result.outcome).toBe('success');
      expect(upstream.requests.length).toBe(before + 1);
      expect(trapped).toEqual({ tcp: 0, udp: 0 });
      expect(egressSummary(execution.result.egress)).toEqual([
        ['GET', 'http', 'upstream.test', upstream.port, '/py?x=1', 'allowed', 200],
        ['GET', 'http', 'other.test', upstream.port, '/', 'denied', 403],
        ['GET', 'http', '169.254.169.254', 80, '/latest/meta-data/', 'denied', 403],
        ['GET', 'http', '127.0.0.1', upstream.port, '/', 'denied', 403],
      ]);
      expect(execution.result.egress[0]).toMatchObject({
        execution_id: execution.id,
        address: '127.0.0.1',
        credential: null,
      });
      // The audit end record carries the same decisions.
      const audit = await readAudit(svc);
      const finished = await finishedRecord(() => readAudit(svc), execution.id);
      expect(audit.length).toBeGreaterThan(0);
      expect(finished.detail.egress.map((r: any) => r.decision)).toEqual([
        'allowed',
        'denied',
        'denied',
        'denied',
      ]);
    },
    SLOW,
  );

  it(
    'curl reaches the allowed upstream through the proxy and gets 403 for another host',
    async () => {
      const execution = await run(
        svc.url,
        {
          language: 'bash',
          backend,
          code: `curl -sS "http://upstream.test:$UP/curl"; echo; curl -sS -o /dev/null -w '%{http_code}\\n' "http://other.test:$UP/"`,
          env: { UP: String(upstream.port) },
          limits: { wall_time_ms: 60_000 },
          network: { egress: 'proxy', allow: allow() },
        },
        240,
      );
      const [first, second] = execution.result.stdout.split('\n');
      expect(JSON.parse(first).url).toBe('/curl');
      expect(second).toBe('403');
      expect(execution.result.egress.map((r: any) => [r.host, r.decision])).toEqual([
        ['upstream.test', 'allowed'],
        ['other.test', 'denied'],
      ]);
    },
    SLOW,
  );

  it(
    'a credential reaches the TLS upstream in its header; the sandbox sees only the sentinel',
    async () => {
      const before = tls.requests.length;
      const execution = await run(
        svc.url,
        {
          language: 'python',
          backend,
          code: CREDENTIAL_PROBE,
          env: { TLS_PORT: String(tls.port) },
          limits: { wall_time_ms: 60_000 },
          network: { egress: 'proxy', allow: allow(), credentials: ['api'] },
        },
        240,
      );
      expect(execution.result.stderr).toBe('');
      const out: string = execution.result.stdout;
      expect(out).toContain('sentinel True\n');
      expect(out).toContain(`echo Bearer ${'*'.repeat(CANARY.length)}\n`);
      expect(out).toContain('hunted');
      for (const form of secretForms(CANARY)) expect(out).not.toContain(form);
      await expectCredentialInjected(svc, execution, tls, before, CANARY);
    },
    SLOW,
  );
});

describe('runs without egress', () => {
  it(
    'keep network none (guest fetch on the isolate: test/egress-isolate.test.ts)',
    async () => {
      const none = await run(
        svc.url,
        { language: 'bash', backend: 'docker', code: 'ls /sys/class/net; env | grep -ci proxy || true' },
        120,
      );
      expect(none.result.stdout).toBe('lo\n0\n');
    },
    SLOW,
  );
});

const CREDENTIAL_PROBE = `
import glob, json, os, urllib.request
s = os.environ['AIRLOCK_CREDENTIAL_API']
print('sentinel', s.startswith('airlock-sentinel-'))
req = urllib.request.Request(f"http://api.test:{os.environ['TLS_PORT']}/whoami", headers={'Authorization': 'Bearer ' + s})
body = json.loads(urllib.request.urlopen(req, timeout=30).read())
print('echo', body['headers']['authorization'])
# Everything the program could read that might hold a credential: its environment, every process's environ
# and argv, Docker's files in /etc, the writable folders. (The image predates this test's random value.)
print('env', json.dumps(dict(os.environ)))
for path in sorted(glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline') + ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname']):
    try:
        print(path, open(path, 'rb').read().decode('latin1'))
    except OSError as e:
        print(path, 'unreadable', e.errno)
for root in ('/work', '/tmp'):
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            try:
                print(path, open(path, 'rb').read(65536).decode('latin1'))
            except OSError as e:
                print(path, 'unreadable', e.errno)
print('hunted')
`;
