// The fleet's templates from the workers' heartbeats: the union over live workers, ready when any has it ready
// (listing those that do), else the most hopeful state of one that has it; a worker past its TTL counts for
// nothing. And the refusals a NATS gateway answers from that view, the same as the embedded mode's.

import type { Template, Worker } from '@airlock/protocol';
import { AirlockError, WorkerStatus } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { fleetTemplates, liveWorkers } from './fleet-template-union.ts';
import { FleetTemplates } from './fleet-templates.ts';

const NOW = new Date('2026-12-03T07:00:00.000Z');

function template(name: string, state: Template['state'], extra: Partial<Template> = {}): Template {
  return {
    name,
    description: `${name} template`,
    languages: ['c', 'cpp'],
    packages: { gcc: '12' },
    size_bytes: 100,
    hash: state === 'ready' ? '0123456789ab' : null,
    state,
    reason: state === 'ready' ? null : `${name} is ${state}`,
    builtin: false,
    ...extra,
  };
}

function worker(id: string, templates: Template[], seenMsAgo = 0, ttl = 3000): Worker {
  return {
    id,
    host: 'h',
    pid: 1,
    version: '0.1.0',
    started_at: '2026-12-03T06:00:00.000Z',
    backends: ['docker'],
    running: 0,
    capacity: 1,
    pools: [],
    templates,
    state: 'running',
    ttl_ms: ttl,
    last_seen: new Date(NOW.getTime() - seenMsAgo).toISOString(),
  };
}

describe('fleetTemplates', () => {
  it('is empty without workers', () => {
    expect(fleetTemplates([], NOW)).toEqual([]);
  });

  it('is ready when some live worker has it ready, listing every such worker', () => {
    const fleet = fleetTemplates(
      [
        worker('q_a', [template('gcc', 'building')]),
        worker('q_b', [template('gcc', 'ready', { hash: 'bbbbbbbbbbbb' })]),
        worker('q_c', [template('gcc', 'ready', { hash: 'cccccccccccc' })]),
      ],
      NOW,
    );
    expect(fleet).toEqual([
      { ...template('gcc', 'ready', { hash: 'bbbbbbbbbbbb' }), workers: ['q_b', 'q_c'] },
    ]);
  });

  it('otherwise carries the most hopeful state and its reason, with no workers', () => {
    const fleet = fleetTemplates(
      [
        worker('q_a', [template('go', 'failed')]),
        worker('q_b', [template('go', 'missing')]),
        worker('q_c', [template('go', 'building')]),
        worker('q_d', [template('go', 'failed')]),
      ],
      NOW,
    );
    expect(fleet).toEqual([{ ...template('go', 'building'), workers: [] }]);
  });

  it('unites different templates of different workers, sorted by name', () => {
    const fleet = fleetTemplates(
      [
        worker('q_a', [template('rust', 'ready'), template('bash', 'ready')]),
        worker('q_b', [template('gcc', 'failed')]),
      ],
      NOW,
    );
    expect(fleet.map((t) => [t.name, t.state, t.workers])).toEqual([
      ['bash', 'ready', ['q_a']],
      ['gcc', 'failed', []],
      ['rust', 'ready', ['q_a']],
    ]);
  });

  it('leaves out an announced template that is not one (a name no spec could have)', () => {
    const hostile = template('gcc', 'ready', { name: '<script>alert(1)</script>' });
    expect(
      fleetTemplates([worker('q_a', [hostile, template('go', 'ready')])], NOW).map((t) => t.name),
    ).toEqual(['go']);
  });

  it('reads the heartbeat of a worker that announces only name, state and reason', () => {
    const parsed = WorkerStatus.parse({
      ...worker('q_old', []),
      last_seen: undefined,
      templates: [{ name: 'gcc', state: 'missing', reason: 'not built' }],
    });
    expect(parsed.templates).toEqual([
      {
        name: 'gcc',
        description: null,
        languages: [],
        packages: {},
        size_bytes: null,
        hash: null,
        state: 'missing',
        reason: 'not built',
        builtin: false,
      },
    ]);
  });

  it('ignores a worker whose heartbeat is older than its TTL', () => {
    const stale = worker('q_old', [template('java', 'ready')], 3001);
    const fresh = worker('q_new', [template('java', 'missing')], 3000);
    expect(liveWorkers([stale, fresh], NOW).map((w) => w.id)).toEqual(['q_new']);
    expect(fleetTemplates([stale, fresh], NOW)).toEqual([{ ...template('java', 'missing'), workers: [] }]);
  });
});

describe('FleetTemplates.require', () => {
  async function fleet(workers: Worker[]): Promise<FleetTemplates> {
    const view = await FleetTemplates.start({ roster: { list: async () => workers }, now: () => NOW });
    await view.stop();
    return view;
  }

  function refusal(view: FleetTemplates, name: string, language: 'c' | 'python'): AirlockError {
    try {
      view.require(name, language);
    } catch (error) {
      if (error instanceof AirlockError) return error;
      throw error;
    }
    throw new Error('expected a refusal');
  }

  it('lets a template some live worker has ready run its languages', async () => {
    const view = await fleet([
      worker('q_a', [template('gcc', 'failed')]),
      worker('q_b', [template('gcc', 'ready')]),
    ]);
    expect(() => view.require('gcc', 'c')).not.toThrow();
  });

  it('refuses an unknown name, or a language the template does not serve, with 400 naming the field', async () => {
    const view = await fleet([worker('q_a', [template('gcc', 'ready')])]);
    expect(refusal(view, 'nowhere', 'c')).toMatchObject({ code: 'invalid_request', field: 'template' });
    expect(refusal(view, 'gcc', 'python')).toMatchObject({ code: 'invalid_request', field: 'template' });
  });

  it('refuses a template no live worker has ready with 503 and the Retry-After of its state', async () => {
    const view = await fleet([worker('q_a', [template('gcc', 'building')])]);
    const refused = refusal(view, 'gcc', 'c');
    expect(refused).toMatchObject({ code: 'template_unavailable', field: 'template', retryAfter: 30 });
    expect(refused.message).toContain('gcc is building');
  });

  it('refuses with 503 when no worker is live to say', async () => {
    const view = await fleet([worker('q_old', [template('gcc', 'ready')], 5000)]);
    expect(view.list()).toEqual([]);
    expect(refusal(view, 'gcc', 'c')).toMatchObject({ code: 'template_unavailable', retryAfter: 60 });
  });

  it('keeps the last view when the bucket cannot be read, and tells onError', async () => {
    const errors: unknown[] = [];
    let reads = 0;
    const view = await FleetTemplates.start({
      roster: {
        list: async () => {
          reads += 1;
          if (reads > 1) throw new Error('nats down');
          return [worker('q_a', [template('gcc', 'ready')])];
        },
      },
      onError: (error) => errors.push(error),
      now: () => NOW,
    });
    await view.stop();
    await view.refresh();
    expect(errors).toHaveLength(1);
    expect(view.list().map((t) => t.name)).toEqual(['gcc']);
  });
});
