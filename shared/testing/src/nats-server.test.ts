import { existsSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { INSTALL_HINT, startNatsServer } from './nats-server.ts';
import { processAlive } from './process-probe.ts';
import { serverInfo } from './server-info.ts';

/** A JetStream API call, raw, so this package needs only the core client. */
async function jsApi(nc: NatsConnection, subject: string, body: unknown, timeout = 10_000): Promise<any> {
  const reply = await nc.request(subject, JSON.stringify(body), { timeout });
  return reply.json();
}

async function eventually<T>(attempt: () => Promise<T>, tries = 30): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= tries) throw error;
    }
  }
}

describe('startNatsServer', () => {
  it('starts a JetStream server on a free loopback port that a client can use', async () => {
    await using server = await startNatsServer({ jetstream: true });
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(existsSync(server.storeDir)).toBe(true);
    const nc = await connect({ servers: server.url });
    try {
      const created = await jsApi(nc, '$JS.API.STREAM.CREATE.PROBE', {
        name: 'PROBE',
        subjects: ['probe.>'],
      });
      expect(created.error).toBeUndefined();
      expect(await jsApi(nc, 'probe.one', 'hello')).toMatchObject({ stream: 'PROBE', seq: 1 });
    } finally {
      await nc.close();
    }
  });

  it('restarts on the same port and store dir, keeping stored messages, and the client reconnects', async () => {
    await using server = await startNatsServer({ jetstream: true });
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const config = { name: 'KEEP', subjects: ['keep.>'], storage: 'file' };
      expect((await jsApi(nc, '$JS.API.STREAM.CREATE.KEEP', config)).error).toBeUndefined();
      expect(await jsApi(nc, 'keep.one', 'survives')).toMatchObject({ seq: 1 });
      const firstPid = server.pid;
      await server.restart();
      expect(server.pid).not.toBe(firstPid);
      expect(processAlive(firstPid!)).toBe(false);
      // A request sent while the client is still reconnecting can be lost; asking again is the client's job.
      const stored = await eventually(() => jsApi(nc, '$JS.API.STREAM.MSG.GET.KEEP', { seq: 1 }, 1_000));
      expect(JSON.parse(Buffer.from(stored.message.data, 'base64').toString())).toBe('survives');
    } finally {
      await nc.close();
    }
  });

  it('kills only its own child and removes the store dir on dispose', async () => {
    const other = await startNatsServer();
    let pid: number | undefined;
    let storeDir = '';
    {
      await using server = await startNatsServer({ jetstream: true });
      pid = server.pid;
      storeDir = server.storeDir;
      expect(processAlive(pid!)).toBe(true);
    }
    expect(processAlive(pid!)).toBe(false);
    expect(existsSync(storeDir)).toBe(false);
    // The other server is untouched.
    expect(processAlive(other.pid!)).toBe(true);
    expect((await serverInfo(other.port))?.server_id).toBeDefined();
    await other[Symbol.asyncDispose]();
  });

  it('stops and reports a stopped server as gone until restarted', async () => {
    await using server = await startNatsServer();
    await server.stop('SIGKILL');
    expect(server.pid).toBeUndefined();
    expect(await serverInfo(server.port)).toBeUndefined();
    await server.restart();
    expect(await serverInfo(server.port)).toBeDefined();
  });

  it('fails, saying how to install it, when nats-server is not on the search path', async () => {
    await expect(startNatsServer({ searchPath: '/nonexistent/bin' })).rejects.toThrow(INSTALL_HINT);
    await expect(startNatsServer({ searchPath: '/nonexistent/bin' })).rejects.toThrow(
      /nats-server not found on PATH.*apt-get install nats-server \(scripts\/setup-host.sh does\)/,
    );
  });
});
