// SECURITY.md classes 3 (direct egress), 4 (DNS) and 5 (reaching the host) on the docker (runc) and gvisor
// (runsc) backends, through the real REST API. Every attempt is aimed at listeners this test starts on this
// machine (the docker0 bridge address, or loopback) and must fail inside the sandbox with an exact errno, while
// the listeners see nothing. It must never aim at an address that is not on this machine.

import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BACKENDS, type ContainerBackend, useContainerService } from './support/containers.ts';
import { run } from './support/service.ts';

const SLOW = 120_000;

/** The errno a connection to an address outside the sandbox's only interface (`lo`) fails with. */
const UNREACHABLE: Record<ContainerBackend, string> = { docker: 'ENETUNREACH', gvisor: 'EHOSTUNREACH' };

const service = useContainerService();

/** The docker0 bridge address of this machine, checked to be one of its own interface addresses. */
function bridgeGateway(): string {
  const shown = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'docker0'], { encoding: 'utf8' });
  const address = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(shown)?.[1];
  if (!address) throw new Error(`docker0 has no IPv4 address: ${shown}`);
  // The kernel's local table lists exactly the addresses of this machine.
  const route = execFileSync('ip', ['-o', 'route', 'get', address], { encoding: 'utf8' });
  if (!route.startsWith(`local ${address} `)) throw new Error(`${address} is not an address of this host`);
  return address;
}

/** Listeners on this host that count every connection and datagram they get. */
class Traps {
  seen = { tcp: 0, tcp6: 0, udp: 0, udp6: 0 };
  readonly #tcp: Server = createServer((s) => {
    this.seen.tcp++;
    s.destroy();
  });
  readonly #tcp6: Server = createServer((s) => {
    this.seen.tcp6++;
    s.destroy();
  });
  readonly #udp: Socket = createSocket('udp4', () => this.seen.udp++);
  readonly #udp6: Socket = createSocket({ type: 'udp6', ipv6Only: true }, () => this.seen.udp6++);

  async open(): Promise<void> {
    this.#tcp.listen(0, '0.0.0.0');
    this.#tcp6.listen({ port: 0, host: '::', ipv6Only: true });
    this.#udp.bind(0, '0.0.0.0');
    this.#udp6.bind(0, '::');
    await Promise.all([
      once(this.#tcp, 'listening'),
      once(this.#tcp6, 'listening'),
      once(this.#udp, 'listening'),
      once(this.#udp6, 'listening'),
    ]);
  }

  ports() {
    return {
      tcp: (this.#tcp.address() as AddressInfo).port,
      tcp6: (this.#tcp6.address() as AddressInfo).port,
      udp: this.#udp.address().port,
      udp6: this.#udp6.address().port,
    };
  }

  /** Proves the traps count: the host itself reaches them on the gateway address (one TCP, one UDP). */
  async selfCheck(gateway: string): Promise<void> {
    const ports = this.ports();
    const accepted = once(this.#tcp, 'connection');
    const received = once(this.#udp, 'message');
    const client = connect(ports.tcp, gateway);
    client.on('error', () => {});
    const sender = createSocket('udp4');
    sender.send('control', ports.udp, gateway);
    await Promise.all([accepted, received]);
    client.destroy();
    sender.close();
  }

  async close(): Promise<void> {
    this.#udp.close();
    this.#udp6.close();
    await Promise.all([new Promise((r) => this.#tcp.close(r)), new Promise((r) => this.#tcp6.close(r))]);
  }
}

const PROBE_HELPERS = `
import errno, os, socket, sys
def attempt(name, fn):
    try:
        fn()
        print(name, 'OK')
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
def connect(family, address):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(address)
    finally:
        s.close()
def send(family, address, kind=socket.SOCK_DGRAM, proto=0, payload=b'airlock'):
    s = socket.socket(family, kind, proto)
    try:
        s.sendto(payload, address)
    finally:
        s.close()
`;

/** Opens the host listeners (traps) for one test, runs `probe` with them and the bridge gateway, then closes them. */
async function withTraps(probe: (traps: Traps, gateway: string) => Promise<void>): Promise<void> {
  const traps = new Traps();
  await traps.open();
  try {
    await probe(traps, bridgeGateway());
  } finally {
    await traps.close();
  }
}

describe.each(BACKENDS)('container network attacks on %s', (backend) => {
  const python = (code: string, args: string[] = []) =>
    run(service().url, { language: 'python', backend, code, args, limits: { wall_time_ms: 20_000 } }, 120);

  it(
    'class 3: TCP, UDP, ICMP and IPv6 aimed at host listeners fail inside and nothing arrives',
    async () => {
      await withTraps(async (traps, gateway) => {
        const ports = traps.ports();
        const code = `${PROBE_HELPERS}
gw = sys.argv[1]
tcp, tcp6, udp, udp6 = map(int, sys.argv[2:6])
echo = bytes([8, 0, 0xf7, 0xff, 0, 0, 0, 0])
attempt('tcp', lambda: connect(socket.AF_INET, (gw, tcp)))
attempt('tcp-v4-mapped', lambda: connect(socket.AF_INET6, ('::ffff:' + gw, tcp)))
attempt('tcp-v6-loopback', lambda: connect(socket.AF_INET6, ('::1', tcp6)))
attempt('udp', lambda: send(socket.AF_INET, (gw, udp)))
attempt('udp-dns-port', lambda: send(socket.AF_INET, (gw, 53)))
attempt('udp-v4-mapped', lambda: send(socket.AF_INET6, ('::ffff:' + gw, udp)))
attempt('udp-v6-loopback', lambda: send(socket.AF_INET6, ('::1', udp6)))
attempt('icmp-raw', lambda: send(socket.AF_INET, (gw, 0), socket.SOCK_RAW, socket.IPPROTO_ICMP, echo))
attempt('icmp-ping-socket', lambda: send(socket.AF_INET, (gw, 0), socket.SOCK_DGRAM, socket.IPPROTO_ICMP, echo))
`;
        const bashCode = `curl -sS -m 5 "http://$1:$2/" 2>/dev/null; echo "curl=$?"
(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; echo "dev-tcp=$?"
command -v ping nc ncat socat telnet wget || echo "no network tools"
`;
        const args = [gateway, ...[ports.tcp, ports.tcp6, ports.udp, ports.udp6].map(String)];
        const [probe, shell] = await Promise.all([
          python(code, args),
          run(
            service().url,
            { language: 'bash', backend, code: bashCode, args: [gateway, String(ports.tcp)] },
            120,
          ),
        ]);
        const unreachable = UNREACHABLE[backend];
        expect(probe.result, `reason: ${probe.result.reason}`).toMatchObject({
          outcome: 'success',
          exit_code: 0,
          stderr: '',
        });
        expect(probe.result.stdout.split('\n')).toEqual([
          `tcp ${unreachable}`,
          `tcp-v4-mapped ${unreachable}`,
          // ::1 is the sandbox's own loopback: nothing listens there.
          'tcp-v6-loopback ECONNREFUSED',
          `udp ${unreachable}`,
          `udp-dns-port ${unreachable}`,
          `udp-v4-mapped ${unreachable}`,
          // A datagram to the sandbox's own ::1 is "sent" and dropped inside; the host trap below sees nothing.
          'udp-v6-loopback OK',
          'icmp-raw EPERM',
          `icmp-ping-socket ${unreachable}`,
          '',
        ]);
        expect(shell.result, `reason: ${shell.result.reason}`).toMatchObject({
          outcome: 'success',
          stdout: 'curl=7\ndev-tcp=1\nno network tools\n',
        });
        expect(traps.seen).toEqual({ tcp: 0, tcp6: 0, udp: 0, udp6: 0 });
        await traps.selfCheck(gateway);
        expect(traps.seen).toEqual({ tcp: 1, tcp6: 0, udp: 1, udp6: 0 });
      });
    },
    SLOW,
  );

  it(
    'class 4: no resolver exists, lookups fail and only lo is there for a query to leave by',
    async () => {
      const code = `${PROBE_HELPERS}
print(repr(open('/etc/resolv.conf').read()))
print(sorted(os.listdir('/sys/class/net')))
for name in ['example.com', 'metadata.google.internal', 'host.docker.internal']:
    try:
        socket.getaddrinfo(name, 80)
        print(name, 'resolved')
    except socket.gaierror as e:
        print(name, e.errno, e.strerror)
`;
      const [probe, shell] = await Promise.all([
        python(code),
        run(
          service().url,
          { language: 'bash', backend, code: 'curl -sS -m 5 http://example.com/; echo "curl=$?"' },
          120,
        ),
      ]);
      expect(probe.result, `reason: ${probe.result.reason}`).toMatchObject({
        outcome: 'success',
        stderr: '',
        stdout: [
          "''",
          "['lo']",
          'example.com -3 Temporary failure in name resolution',
          'metadata.google.internal -3 Temporary failure in name resolution',
          'host.docker.internal -3 Temporary failure in name resolution',
          '',
        ].join('\n'),
      });
      expect(shell.result, `reason: ${shell.result.reason}`).toMatchObject({
        outcome: 'success',
        stdout: 'curl=6\n',
        stderr: 'curl: (6) Could not resolve host: example.com\n',
      });
    },
    SLOW,
  );

  it(
    'class 5: no Docker socket, and the gateway and host listeners are unreachable',
    async () => {
      await withTraps(async (traps, gateway) => {
        const servicePort = Number(new URL(service().url).port);
        const code = `${PROBE_HELPERS}
gw, service, trap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for path in ['/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock', '/var/run/docker']:
    print(path, 'exists' if os.path.lexists(path) else 'absent')
print('docker in mounts', 'docker.sock' in open('/proc/mounts').read())
attempt('service-on-loopback', lambda: connect(socket.AF_INET, ('127.0.0.1', service)))
attempt('service-on-gateway', lambda: connect(socket.AF_INET, (gw, service)))
attempt('host-trap-on-loopback', lambda: connect(socket.AF_INET, ('127.0.0.1', trap)))
attempt('host-trap-on-gateway', lambda: connect(socket.AF_INET, (gw, trap)))
`;
        const probe = await python(code, [gateway, String(servicePort), String(traps.ports().tcp)]);
        const unreachable = UNREACHABLE[backend];
        expect(probe.result, `reason: ${probe.result.reason}`).toMatchObject({
          outcome: 'success',
          stderr: '',
          stdout: [
            '/var/run/docker.sock absent',
            '/run/docker.sock absent',
            '/run/containerd/containerd.sock absent',
            '/var/run/docker absent',
            'docker in mounts False',
            // Loopback inside is the sandbox's own: the service's port there is closed.
            'service-on-loopback ECONNREFUSED',
            `service-on-gateway ${unreachable}`,
            'host-trap-on-loopback ECONNREFUSED',
            `host-trap-on-gateway ${unreachable}`,
            '',
          ].join('\n'),
        });
        expect(traps.seen).toEqual({ tcp: 0, tcp6: 0, udp: 0, udp6: 0 });
      });
    },
    SLOW,
  );
});
