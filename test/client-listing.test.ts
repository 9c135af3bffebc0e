// @airlock/client's listing and event methods against a real service on loopback (embedded mode): a page of
// executions filtered by a label, following `next`; a session listed open and closed, with its events; the lifecycle events of a run read and
// resumed from `next`; a forged cursor refused with its field.

import { describe, expect, it } from 'vitest';
import { rejection, useServiceClient } from './support/client.ts';

const { client } = useServiceClient();

describe('listing and events', () => {
  it('lists executions by label page by page, and reads their lifecycle events', async () => {
    const start = await client().events({ limit: 1000 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { execution } = await client().submit(
        { language: 'javascript', code: `console.log(${i})`, metadata: { batch: 'listed' } },
        { wait: 20 },
      );
      ids.push(execution.id);
    }
    const first = await client().listExecutions({ metadata: { batch: 'listed' }, limit: 2 });
    expect(first.data.map((e) => e.id)).toEqual([ids[2], ids[1]]);
    expect(first.next).toEqual(expect.any(String));
    const second = await client().listExecutions({
      metadata: { batch: 'listed' },
      limit: 2,
      cursor: first.next!,
    });
    expect(second).toEqual({ data: [expect.objectContaining({ id: ids[0] })], next: null });
    const finished = await client().listExecutions({
      status: 'finished',
      outcome: 'success',
      language: 'javascript',
    });
    expect(finished.data.map((e) => e.id)).toEqual(expect.arrayContaining(ids));

    const events = await client().events({
      after: start.next,
      types: ['execution.accepted', 'execution.finished'],
    });
    expect(events.data.filter((e) => ids.includes(e.subject)).map((e) => e.type)).toEqual([
      'execution.accepted',
      'execution.finished',
      'execution.accepted',
      'execution.finished',
      'execution.accepted',
      'execution.finished',
    ]);
    expect((await client().events({ after: events.next })).data).toEqual([]);

    const session = await client().createSession({ language: 'javascript', metadata: { purpose: 'listed' } });
    const open = await client().listSessions({ status: 'ready', metadata: { purpose: 'listed' } });
    expect(open.data.map((s) => s.id)).toEqual([session.id]);
    await client().closeSession(session.id);
    const closed = await client().listSessions({ status: 'closed', language: 'javascript' });
    expect(closed.data.map((s) => s.id)).toEqual([session.id]);
    expect((await client().listSessions({ status: 'ready' })).data).toEqual([]);
    const sessionEvents = await client().events({
      after: events.next,
      types: ['session.created', 'session.closed'],
    });
    expect(sessionEvents.data.map((e) => [e.type, e.subject, e.data.closed_reason])).toEqual([
      ['session.created', session.id, null],
      ['session.closed', session.id, 'deleted'],
    ]);

    const forged = await rejection(client().listExecutions({ cursor: `${first.next!.slice(0, -3)}xyz` }));
    expect(forged).toMatchObject({ status: 400, code: 'invalid_request', field: 'query.cursor' });
  });
});
