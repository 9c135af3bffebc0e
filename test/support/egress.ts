// Helpers shared by the egress end-to-end test files (embedded service and NATS): the hosts table and
// credential files an egress proxy reads (every name resolves to 127.0.0.1 from the table, never from DNS), a
// loopback HTTP upstream plus a TLS upstream behind a test CA, the summary of egress records the tests
// compare, the checks that a secret shows up nowhere and that an egress network and its firewall rules are
// gone. Traffic goes to loopback only.

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeTestPki,
  startHttpUpstream,
  startTlsUpstream,
  type TestPki,
  type Upstream,
} from '@airlock/egress-proxy/testing';
import { egressFirewallRules } from '@airlock/sandbox';
import { expect } from 'vitest';
import { readAuditRecords } from './audit.ts';
import { startService, type TestService } from './service.ts';

/** Writes `hosts.json` in `dir` (each name → 127.0.0.1) and returns its path. */
export async function writeHostsTable(dir: string, names: readonly string[]): Promise<string> {
  const path = join(dir, 'hosts.json');
  await writeFile(path, JSON.stringify(Object.fromEntries(names.map((name) => [name, ['127.0.0.1']]))));
  return path;
}

export interface TestCredential {
  /** The credential's name (what a run asks for in network.credentials). */
  name: string;
  hosts: string[];
  /** The file name of its secret in `dir` (AIRLOCK_SECRETS_DIR). */
  secret: string;
  /** The secret's value: a canary where a test checks that it never leaks. */
  value: string;
}

/**
 * Writes `credentials.json` in `dir` with one binding (`Authorization: Bearer {value}`) and its secret file
 * (mode 0600) next to it; returns the path of `credentials.json`.
 */
export async function writeCredential(dir: string, credential: TestCredential): Promise<string> {
  const path = join(dir, 'credentials.json');
  const { name, hosts, secret } = credential;
  await writeFile(
    path,
    JSON.stringify({
      credentials: { [name]: { hosts, header: 'Authorization', format: 'Bearer {value}', secret } },
    }),
  );
  await writeFile(join(dir, secret), credential.value, { mode: 0o600 });
  return path;
}

/** Egress records as `[method, scheme, host, port, path, decision, status]` rows. */
export const egressSummary = (records: any[]) =>
  records.map((r) => [r.method, r.scheme, r.host, r.port, r.path, r.decision, r.status]);

/** No docker network named `networkName` is left, and no firewall rule for it. */
export async function expectEgressNetworkGone(networkName: string): Promise<void> {
  const left = execFileSync('docker', ['network', 'ls', '-q', '--filter', `name=${networkName}`], {
    encoding: 'utf8',
  });
  expect(left.trim()).toBe('');
  expect(await egressFirewallRules(networkName)).toEqual([]);
}

/**
 * The upstreams of the embedded-service egress tests: a loopback HTTP echo upstream (`upstream.test`) and a
 * TLS echo upstream behind a throwaway CA, with a temp dir holding the hosts table, the CA and credential
 * `api` (hosts `api.test`, secret = `canary`).
 */
export interface EgressUpstreams extends AsyncDisposable {
  dir: string;
  pki: TestPki;
  upstream: Upstream;
  tls: Upstream;
  /** The egress settings of a service that reaches these upstreams and the `extraPorts` on 127.0.0.1. */
  serviceEnv(extraPorts?: number[]): Record<string, string>;
  close(): Promise<void>;
}

export async function startEgressUpstreams(options: {
  /** Prefix of the temp dir. */
  prefix: string;
  /** Names the TLS upstream's certificate is for. */
  tlsNames: string[];
  /** Every name of the hosts table. */
  hosts: string[];
  canary: string;
}): Promise<EgressUpstreams> {
  const dir = await mkdtemp(join(tmpdir(), options.prefix));
  let pki: TestPki | undefined;
  let upstream: Upstream | undefined;
  let tls: Upstream | undefined;
  const close = async () => {
    await upstream?.close();
    await tls?.close();
    await pki?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    pki = await makeTestPki(options.tlsNames);
    upstream = await startHttpUpstream('127.0.0.1');
    tls = await startTlsUpstream(pki);
    const hostsFile = await writeHostsTable(dir, options.hosts);
    const credentialsFile = await writeCredential(dir, {
      name: 'api',
      hosts: ['api.test'],
      secret: 'api-token',
      value: options.canary,
    });
    await writeFile(join(dir, 'ca.pem'), pki.ca);
    const ports = [upstream.port, tls.port];
    return {
      dir,
      pki,
      upstream,
      tls,
      serviceEnv: (extraPorts = []) => ({
        AIRLOCK_EGRESS: 'on',
        AIRLOCK_EGRESS_ALLOWANCES: [...ports, ...extraPorts].map((p) => `127.0.0.1:${p}`).join(','),
        AIRLOCK_EGRESS_HOSTS_FILE: hostsFile,
        AIRLOCK_EGRESS_CREDENTIALS_FILE: credentialsFile,
        AIRLOCK_SECRETS_DIR: dir,
        AIRLOCK_EGRESS_UPSTREAM_CA_FILE: join(dir, 'ca.pem'),
      }),
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The embedded service with egress on, in front of its test upstreams (`startEgressScenario`). */
export interface EgressScenario {
  svc: TestService;
  upstreams: EgressUpstreams;
  network: { name: string; gateway: string };
  /** Closes the service and the upstreams, then checks the egress network and its firewall rules are gone. */
  close(): Promise<void>;
}

/** The upstreams (`startEgressUpstreams`), then the service reaching them and the `extraPorts` on 127.0.0.1. */
export async function startEgressScenario(
  upstreamOptions: Parameters<typeof startEgressUpstreams>[0],
  env: Record<string, string>,
  extraPorts: number[] = [],
): Promise<EgressScenario> {
  const upstreams = await startEgressUpstreams(upstreamOptions);
  try {
    const { svc, network } = await startEgressService({ ...env, ...upstreams.serviceEnv(extraPorts) });
    const close = async () => {
      await svc.close();
      await upstreams.close();
      await expectEgressNetworkGone(network.name);
    };
    return { svc, upstreams, network, close };
  } catch (error) {
    await upstreams.close();
    throw error;
  }
}

/** Starts the embedded service with `env`; fails, with its logs, when its egress did not start. */
export async function startEgressService(
  env: Record<string, string>,
): Promise<{ svc: TestService; network: { name: string; gateway: string } }> {
  const svc = await startService(env);
  const egress = svc.service.egress;
  if (!egress) {
    const logs = svc.logs.join('');
    await svc.close();
    throw new Error(`egress did not start (needs dockerd, iptables and nsenter): ${logs}`);
  }
  return { svc, network: egress.network };
}

/** The service's audit records so far. */
export function readAudit(svc: TestService): Promise<any[]> {
  return readAuditRecords(svc.auditPath);
}

/**
 * The audit record that ends execution `id`, once `audit` (the records written so far) holds it; the test's own
 * timeout bounds the wait.
 */
export async function finishedRecord(
  audit: () => Promise<Array<Record<string, any>>>,
  id: string,
): Promise<Record<string, any>> {
  for (;;) {
    const record = (await audit()).find((r) => r.type === 'finished' && r.execution_id === id);
    if (record !== undefined) return record;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The upstream got `Bearer <canary>` while the run only saw the sentinel: the canary (and a base64 slice of
 * it) is nowhere in the execution, the audit log or the service's logs, and the run has one https egress record
 * naming the credential.
 */
export async function expectCredentialInjected(
  svc: TestService,
  execution: any,
  tls: Upstream,
  before: number,
  canary: string,
): Promise<void> {
  expect(tls.requests[before]?.headers.authorization).toBe(`Bearer ${canary}`);
  for (const form of secretForms(canary)) {
    expect(JSON.stringify(execution)).not.toContain(form);
    expect(await readFile(svc.auditPath, 'utf8')).not.toContain(form);
    expect(svc.logs.join('')).not.toContain(form);
  }
  expect(execution.result.egress).toEqual([
    expect.objectContaining({
      scheme: 'https',
      host: 'api.test',
      port: tls.port,
      credential: 'api',
      status: 200,
    }),
  ]);
}

/** The secret and a slice of its base64 form: what a leak check looks for. */
export const secretForms = (secret: string) => [secret, Buffer.from(secret).toString('base64').slice(2, -2)];
