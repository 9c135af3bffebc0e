import { describe, expect, it } from 'vitest';
import {
  executionKey,
  idempotencyKey,
  isStorableId,
  parseJobConsumer,
  QueueNames,
  tenantToken,
} from './names.ts';

const names = new QueueNames({ jobStream: 'J', eventStream: 'E', bucket: 'b', subjectPrefix: 'airlock' });

describe('QueueNames', () => {
  it('puts plain tenants into subjects as they are and hashes anything else', () => {
    expect(names.jobs('acme')).toBe('airlock.jobs.acme');
    expect(names.consumer('acme')).toBe('jobs-acme');
    for (const tenant of ['a.b', 'a*', 'a>', 'a b', '', 'x'.repeat(65), 'ünï']) {
      const token = tenantToken(tenant);
      expect(token).toMatch(/^~[0-9a-f]{40}$/);
      expect(names.jobs(tenant)).toBe(`airlock.jobs.${token}`);
    }
    // A hashed token can never be a plain tenant's token, and different tenants get different tokens.
    expect(tenantToken(tenantToken('a.b'))).not.toBe(tenantToken('a.b'));
    expect(tenantToken('a.b')).not.toBe(tenantToken('a*b'));
  });

  it('reads wake-up and cancel subjects back, refusing anything else', () => {
    expect(names.consumerOfWakeUp(names.wakeUp('acme'))).toBe('jobs-acme');
    expect(names.consumerOfWakeUp(names.wakeUp('a.b'))).toBe(names.consumer('a.b'));
    expect(names.consumerOfWakeUp('airlock.work.~nothex')).toBeUndefined();
    expect(names.consumerOfWakeUp('other.work.acme')).toBeUndefined();
    expect(names.idOfCancel(names.cancel('ex_abc-_1'))).toBe('ex_abc-_1');
    expect(names.idOfCancel('airlock.cancel.')).toBeUndefined();
    expect(names.idOfCancel('airlock.jobs.acme')).toBeUndefined();
    expect(names.idOfStateEvent(names.stateEvents('ex_abc-_1'))).toBe('ex_abc-_1');
    expect(names.idOfStateEvent(names.outputEvents('ex_1'))).toBeUndefined();
    expect(names.idOfStateEvent('airlock.events..state')).toBeUndefined();
    expect(names.idOfStateEvent('other.events.ex_1.state')).toBeUndefined();
  });

  it('gives a job routed by template its own subject, consumer and wake-up, read back unambiguously', () => {
    expect(names.jobs('acme', 'gcc')).toBe('airlock.jobs.acme.gcc');
    expect(names.consumer('acme', 'gcc')).toBe('jobs-acme~gcc');
    expect(names.consumerOfWakeUp(names.wakeUp('acme', 'gcc'))).toBe('jobs-acme~gcc');
    expect(names.consumerOfWakeUp(names.wakeUp('a.b', 'my-tmpl'))).toBe(names.consumer('a.b', 'my-tmpl'));
    expect(names.consumerOfWakeUp('airlock.work.acme.Bad')).toBeUndefined();
    expect(names.consumerOfWakeUp('airlock.work.acme.gcc.x')).toBeUndefined();
    // A tenant named like another tenant's routed consumer never shares its name.
    expect(names.consumer('acme-gcc')).not.toBe(names.consumer('acme', 'gcc'));
    expect(parseJobConsumer('jobs-acme')).toEqual({ tenant: 'acme', template: undefined });
    expect(parseJobConsumer('jobs-acme~gcc')).toEqual({ tenant: 'acme', template: 'gcc' });
    const hashed = tenantToken('a.b');
    expect(parseJobConsumer(names.consumer('a.b'))).toEqual({ tenant: hashed, template: undefined });
    expect(parseJobConsumer(names.consumer('a.b', 'go'))).toEqual({ tenant: hashed, template: 'go' });
    for (const bad of ['jobs-', 'other-acme', 'jobs-acme~', 'jobs-acme~Gcc', 'jobs-~nothex']) {
      expect(parseJobConsumer(bad), bad).toBeUndefined();
    }
    for (const bad of ['', 'a.b', 'A', 'a>', '1x']) expect(() => names.jobs('acme', bad)).toThrow(TypeError);
  });

  it('keys executions by id and client keys by a hash of tenant and key', () => {
    expect(executionKey('ex_1')).toBe('ex.ex_1');
    expect(idempotencyKey('acme', 'k')).toMatch(/^key\.[0-9a-f]{64}$/);
    expect(idempotencyKey('acme', 'k')).not.toBe(idempotencyKey('other', 'k'));
    expect(idempotencyKey('a', 'bc')).not.toBe(idempotencyKey('ab', 'c'));
    expect(isStorableId('ex_AZaz09-_')).toBe(true);
    for (const bad of ['', 'a.b', 'a*', 'a>', 'a b', 'x'.repeat(129)]) expect(isStorableId(bad)).toBe(false);
  });
});
