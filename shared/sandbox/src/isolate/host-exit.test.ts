// Hearing of an isolate host's end: a listener hears it once, also when it subscribes after the end, and an
// unsubscribed one never does (a job that ended lets go of its listener). A real host process, killed.

import { describe, expect, it } from 'vitest';
import { type HostExit, IsolateHost } from './isolate-host.ts';

describe('IsolateHost.whenExited', () => {
  it('tells each listener once, also one that comes after the end, and never one that left', async () => {
    const host = new IsolateHost(64, { cgroups: null });
    await host.ready;
    const heard: string[] = [];
    const hear = (name: string) => (exit: HostExit) => heard.push(`${name}:${exit.signal}`);
    host.whenExited(hear('stays'));
    const leave = host.whenExited(hear('leaves'));
    leave();
    host.kill();
    const exit = await host.exited;
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual(['stays:SIGKILL']);

    host.whenExited(hear('late'));
    const leaveLate = host.whenExited(hear('late-leaves'));
    leaveLate();
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual(['stays:SIGKILL', 'late:SIGKILL']);
    expect(exit.signal).toBe('SIGKILL');
  });
});
