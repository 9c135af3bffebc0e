import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.ts';

describe('loadConfig', () => {
  it('gives the documented defaults and freezes the result', () => {
    const config = loadConfig({});
    expect(config.AIRLOCK_HOST).toBe('127.0.0.1');
    expect(config.AIRLOCK_PORT).toBe(8080);
    expect(config.AIRLOCK_AUDIT_LOG).toBe('./var/audit.jsonl');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('coerces numbers and ignores unrelated variables', () => {
    const config = loadConfig({ AIRLOCK_PORT: '9090', PATH: '/bin', AIRLOCK_HOST: '' });
    expect(config.AIRLOCK_PORT).toBe(9090);
    expect(config.AIRLOCK_HOST).toBe('127.0.0.1');
  });

  it('names the variable and quotes the bad value', () => {
    expect(() => loadConfig({ AIRLOCK_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ AIRLOCK_PORT: 'eighty' })).toThrow(/AIRLOCK_PORT="eighty"/);
    expect(() => loadConfig({ AIRLOCK_AUDIT_FSYNC: 'sometimes' })).toThrow(/AIRLOCK_AUDIT_FSYNC="sometimes"/);
  });

  it('takes the isolate hosts’ cgroup parent as an absolute path or off', () => {
    expect(loadConfig({}).AIRLOCK_ISOLATE_CGROUP).toBe('/sys/fs/cgroup/memory/airlock');
    expect(loadConfig({ AIRLOCK_ISOLATE_CGROUP: '/sys/fs/cgroup/memory/x' }).AIRLOCK_ISOLATE_CGROUP).toBe(
      '/sys/fs/cgroup/memory/x',
    );
    expect(loadConfig({ AIRLOCK_ISOLATE_CGROUP: 'off' }).AIRLOCK_ISOLATE_CGROUP).toBeNull();
    expect(() => loadConfig({ AIRLOCK_ISOLATE_CGROUP: 'airlock' })).toThrow(
      /AIRLOCK_ISOLATE_CGROUP="airlock"/,
    );
  });

  it('takes the isolate hosts’ job budget as a positive integer', () => {
    expect(loadConfig({}).AIRLOCK_ISOLATE_JOBS_PER_HOST).toBe(2000);
    expect(loadConfig({ AIRLOCK_ISOLATE_JOBS_PER_HOST: '50' }).AIRLOCK_ISOLATE_JOBS_PER_HOST).toBe(50);
    expect(() => loadConfig({ AIRLOCK_ISOLATE_JOBS_PER_HOST: '0' })).toThrow(
      /AIRLOCK_ISOLATE_JOBS_PER_HOST="0"/,
    );
    expect(() => loadConfig({ AIRLOCK_ISOLATE_JOBS_PER_HOST: 'many' })).toThrow(
      /AIRLOCK_ISOLATE_JOBS_PER_HOST="many"/,
    );
  });

  it('puts the store beside the audit log unless AIRLOCK_DATA_DIR says where', () => {
    expect(loadConfig({}).AIRLOCK_DATA_DIR).toBe('var/store');
    expect(loadConfig({ AIRLOCK_AUDIT_LOG: '/srv/airlock/audit.jsonl' }).AIRLOCK_DATA_DIR).toBe(
      '/srv/airlock/store',
    );
    const config = loadConfig({ AIRLOCK_AUDIT_LOG: '/a/audit.jsonl', AIRLOCK_DATA_DIR: '/b/data' });
    expect(config.AIRLOCK_DATA_DIR).toBe('/b/data');
    expect(config.AIRLOCK_RETAINED_BYTES).toBe(1024 * 1024 * 1024);
    expect(config.AIRLOCK_MAX_RETAINED).toBeUndefined();
    expect(loadConfig({ AIRLOCK_MAX_RETAINED: '500' }).AIRLOCK_MAX_RETAINED).toBe(500);
    expect(() => loadConfig({ AIRLOCK_RETAINED_BYTES: '1000' })).toThrow(/AIRLOCK_RETAINED_BYTES="1000"/);
  });

  it('refuses a default above its ceiling', () => {
    expect(() => loadConfig({ AIRLOCK_DEFAULT_MEMORY_MB: '2048', AIRLOCK_MAX_MEMORY_MB: '1024' })).toThrow(
      /AIRLOCK_DEFAULT_MEMORY_MB=2048 is above AIRLOCK_MAX_MEMORY_MB=1024/,
    );
  });
});

describe('token configuration', () => {
  it('requires issuers and a tenant policy once keys are configured', () => {
    expect(() => loadConfig({ AIRLOCK_JWKS_FILE: '/k.json' })).toThrow(/AIRLOCK_TOKEN_ISSUERS is required/);
    expect(() => loadConfig({ AIRLOCK_JWKS_FILE: '/k.json', AIRLOCK_TOKEN_ISSUERS: 'broker' })).toThrow(
      /AIRLOCK_TENANT_POLICY_FILE is required/,
    );
    const config = loadConfig({
      AIRLOCK_JWKS_FILE: '/k.json',
      AIRLOCK_TOKEN_ISSUERS: 'broker-a, broker-b',
      AIRLOCK_TENANT_POLICY_FILE: '/p.json',
    });
    expect(config.AIRLOCK_TOKEN_ISSUERS).toEqual(['broker-a', 'broker-b']);
    expect(config.AIRLOCK_TOKEN_AUDIENCE).toBe('airlock');
  });
});
