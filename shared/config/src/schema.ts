// Every AIRLOCK_* variable with its default. Parsed once by a service's main.ts, then frozen; nothing else reads
// process.env. Errors quote the variable, the bad value and what was expected.

import { BACKEND_NAMES, BackendName, SESSION_ON_IDLE } from '@airlock/protocol';
import { z } from 'zod';

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
/** The items of a comma-separated setting, trimmed, empty ones left out. */
const items = (s: string): string[] =>
  s
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
/** A comma-separated setting as its list of items. */
const commaList = () => z.string().transform(items);

/** `address:port` pairs, comma-separated (`[v6]:port` for IPv6); none by default. */
function addressPortList() {
  return z
    .string()
    .transform((s, ctx) => {
      const out: Array<{ address: string; port: number }> = [];
      for (const item of items(s)) {
        const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(item);
        const port = Number(m?.[3]);
        if (!m || port < 1 || port > 65_535) {
          ctx.addIssue({ code: 'custom', message: `'${item}' is not address:port` });
          return z.NEVER;
        }
        out.push({ address: (m[1] ?? m[2]) as string, port });
      }
      return out;
    })
    .default([]);
}

export const ConfigSchema = z.object({
  /** Address the REST gateway binds. @default 127.0.0.1 */
  AIRLOCK_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port of the REST gateway (0 picks a free one). @default 8080 */
  AIRLOCK_PORT: int(8080, 0, 65_535),
  /** Path of the hash-chained audit log (JSON Lines). @default ./var/audit.jsonl */
  AIRLOCK_AUDIT_LOG: z.string().min(1).default('./var/audit.jsonl'),
  /** When audit records reach the disk: always (group commit), interval, never. @default always */
  AIRLOCK_AUDIT_FSYNC: z.enum(['always', 'interval', 'never']).default('always'),
  /** pino log level. @default info */
  AIRLOCK_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Executions running at once. @default 2 */
  AIRLOCK_CONCURRENCY: int(2, 1, 256),
  /** Backends to start, comma-separated; container backends that cannot start are reported, not fatal. @default isolate,docker,gvisor */
  AIRLOCK_BACKENDS: commaList()
    .pipe(z.array(BackendName).min(1))
    .default([...BACKEND_NAMES]),
  /** Docker Engine socket for the container backends. @default /var/run/docker.sock */
  AIRLOCK_DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),
  /** Warm containers kept at least per image and runtime (the pool's min, for the default memory limit). @default 2 */
  AIRLOCK_POOL_SIZE: int(2, 0, 64),
  /** Most warm containers a pool keeps when demand is high (never below its min). @default 8 */
  AIRLOCK_POOL_MAX: int(8, 0, 256),
  /** Seconds without a lease after which a pool retires the containers above its min. @default 30 */
  AIRLOCK_POOL_IDLE_SECONDS: int(30, 1, 86_400),
  /**
   * Pools made on demand, per runtime, for other memory limits of pooled images (0: such jobs go cold, in a
   * container labelled with their execution). @default 0
   */
  AIRLOCK_POOL_PROFILES: int(0, 0, 64),
  /** Docker lifecycle calls (create, attach, start, remove) at once per runtime; the rest queue. @default 4 */
  AIRLOCK_DOCKER_CONCURRENCY: int(4, 1, 64),
  /** An operator's templates: one folder per template holding its template.json (beside the shipped ones). */
  AIRLOCK_TEMPLATES_DIR: z.string().min(1).optional(),
  /**
   * What start-up does with templates that are not built: `build` them in the background (the service serves
   * the others meanwhile; they answer 503 template_unavailable until ready) or leave them `missing`.
   * @default build
   */
  AIRLOCK_TEMPLATES_BUILD: z.enum(['build', 'off']).default('build'),
  /** Warm containers kept at least per template and runtime, `name=size,...` (a template not listed is cold only). @default none */
  AIRLOCK_TEMPLATE_POOLS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const sizes: Record<string, number> = {};
      for (const part of items(s)) {
        const match = /^([a-z][a-z0-9-]{0,39})=(\d{1,2})$/.exec(part);
        if (!match) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(part)} is not name=size (size 0-99)` });
          return z.NEVER;
        }
        sizes[match[1] as string] = Number(match[2]);
      }
      return sizes;
    }),
  /** Seconds between sweeps that remove containers of Airlock services that are gone (0: at start-up only). @default 60 */
  AIRLOCK_REAPER_INTERVAL_SECONDS: int(60, 0, 86_400),
  /** Warm isolate host processes. @default 2 */
  AIRLOCK_ISOLATE_HOSTS: int(2, 1, 64),
  /**
   * Jobs an isolate host process runs before a fresh one takes its place (each host's own budget is drawn up to
   * a quarter below it; the fresh one is started first). A host start costs about 0.7 s of CPU (Node without
   * its start-up snapshot, isolated-vm, the guest runtime), so a small budget spends more CPU on starting
   * hosts than on jobs; a host that grows is retired early regardless. @default 2000
   */
  AIRLOCK_ISOLATE_JOBS_PER_HOST: int(2000, 1, 1_000_000),
  /**
   * Milliseconds the isolate host processes get to start (each loads isolated-vm and primes the guest runtime's
   * code cache) before start-up fails; a loaded host needs far more than an idle one. @default 120000
   */
  AIRLOCK_ISOLATE_START_TIMEOUT_MS: int(120_000, 1000, 600_000),
  /**
   * cgroup v1 memory group under which every isolate host process gets its own group, capped for the job (or
   * session) it runs; `off`: none (the watchdog on the hosts' resident memory only). @default /sys/fs/cgroup/memory/airlock
   */
  AIRLOCK_ISOLATE_CGROUP: z
    .string()
    .min(1)
    .refine((s) => s === 'off' || s.startsWith('/'), 'must be an absolute path or off')
    .transform((s) => (s === 'off' ? null : s))
    .default('/sys/fs/cgroup/memory/airlock'),
  /** Queued (not yet running) executions across all tenants before 429. @default 1000 */
  AIRLOCK_MAX_QUEUED: int(1000, 1, 1_000_000),
  /** Largest accepted request body in bytes. @default 10485760 */
  AIRLOCK_BODY_LIMIT_BYTES: int(10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  /** Longest `?wait=` in seconds. @default 60 */
  AIRLOCK_MAX_WAIT_SECONDS: int(60, 0, 3600),
  /** Server-Sent Event streams open at once before 429. @default 1000 */
  AIRLOCK_MAX_WATCHERS: int(1000, 1, 100_000),
  /** Finished executions and closed sessions stay readable this long, in seconds. @default 3600 */
  AIRLOCK_RETENTION_SECONDS: int(3600, 1, 30 * 24 * 3600),
  /**
   * Embedded mode: bytes of executions (with output, files and replays) and sessions the store keeps; over it
   * the oldest finished ones are forgotten first. @default 1073741824 (1 GiB)
   */
  AIRLOCK_RETAINED_BYTES: int(1024 * 1024 * 1024, 1024 * 1024, 2 ** 50),
  /** Lifecycle events (`GET /v1/events`) stay in the feed this long, in seconds. @default 604800 (7 days) */
  AIRLOCK_EVENTS_RETENTION_SECONDS: int(7 * 24 * 3600, 60, 90 * 24 * 3600),
  /** Bytes of lifecycle events the feed keeps; over it the oldest go first. @default 67108864 (64 MiB) */
  AIRLOCK_EVENTS_RETAINED_BYTES: int(64 * 1024 * 1024, 64 * 1024, 2 ** 40),
  /**
   * On NATS, every process copies its execution audit records to the `AIRLOCK_AUDIT` stream (so any gateway
   * shows them); they stay there this long, in seconds. The local audit log files stay the source of truth.
   * @default 604800 (7 days)
   */
  AIRLOCK_AUDIT_STREAM_RETENTION_SECONDS: int(7 * 24 * 3600, 60, 10 * 365 * 24 * 3600),
  /** Bytes of audit records the `AIRLOCK_AUDIT` stream keeps; over it the oldest go first. @default 268435456 */
  AIRLOCK_AUDIT_STREAM_RETAINED_BYTES: int(256 * 1024 * 1024, 64 * 1024, 2 ** 50),
  /** Deprecated (use AIRLOCK_RETAINED_BYTES): also bounds stored executions by count when set. */
  AIRLOCK_MAX_RETAINED: z.coerce.number().int().min(10).max(10_000_000).optional(),
  /**
   * Embedded mode: the folder of the execution store (SQLite), created 0700.
   * @default the folder `store` beside AIRLOCK_AUDIT_LOG (./var/store)
   */
  AIRLOCK_DATA_DIR: z.string().min(1).optional(),
  /** Default and ceiling of limits.wall_time_ms. @default 10000 / 60000 */
  AIRLOCK_DEFAULT_WALL_TIME_MS: int(10_000, 10, 3_600_000),
  AIRLOCK_MAX_WALL_TIME_MS: int(60_000, 10, 3_600_000),
  /** Default and ceiling of limits.cpu_time_ms. @default 10000 / 60000 */
  AIRLOCK_DEFAULT_CPU_TIME_MS: int(10_000, 10, 3_600_000),
  AIRLOCK_MAX_CPU_TIME_MS: int(60_000, 10, 3_600_000),
  /** Default and ceiling of limits.memory_mb. @default 128 / 1024 */
  AIRLOCK_DEFAULT_MEMORY_MB: int(128, 8, 65_536),
  AIRLOCK_MAX_MEMORY_MB: int(1024, 8, 65_536),
  /** Default and ceiling of limits.output_bytes (stdout + stderr). @default 1048576 / 16777216 */
  AIRLOCK_DEFAULT_OUTPUT_BYTES: int(1024 * 1024, 1, 1024 * 1024 * 1024),
  AIRLOCK_MAX_OUTPUT_BYTES: int(16 * 1024 * 1024, 1, 1024 * 1024 * 1024),
  /**
   * Default and ceiling of limits.compile_wall_time_ms: the compile step of a template language (C, C++, Go,
   * Rust, Java), counted apart from wall_time_ms. @default 30000 / 120000
   */
  AIRLOCK_DEFAULT_COMPILE_WALL_TIME_MS: int(30_000, 10, 3_600_000),
  AIRLOCK_MAX_COMPILE_WALL_TIME_MS: int(120_000, 10, 3_600_000),
  /** JWKS file with the tool broker's public keys; setting it (or the URL) turns intent tokens on. */
  AIRLOCK_JWKS_FILE: z.string().min(1).optional(),
  /** JWKS URL with the tool broker's public keys (cached; an unknown kid refreshes once). */
  AIRLOCK_JWKS_URL: z.url().optional(),
  /** Accepted token issuers, comma-separated. Required with keys. */
  AIRLOCK_TOKEN_ISSUERS: commaList().optional(),
  /** The `aud` every token must carry. @default airlock */
  AIRLOCK_TOKEN_AUDIENCE: z.string().min(1).default('airlock'),
  /** Longest accepted token lifetime (exp - iat), seconds. @default 900 */
  AIRLOCK_TOKEN_MAX_LIFETIME_SECONDS: int(900, 1, 86_400),
  /** Executions one token (jti) may start unless its intent says otherwise. @default 1 */
  AIRLOCK_TOKEN_MAX_EXECUTIONS: int(1, 1, 1_000_000),
  /** Tenant policy JSON file. Required with keys. */
  AIRLOCK_TENANT_POLICY_FILE: z.string().min(1).optional(),
  /** Sessions: default and ceiling of idle_timeout_seconds. @default 300 / 3600 */
  AIRLOCK_SESSION_IDLE_SECONDS: int(300, 1, 86_400),
  AIRLOCK_SESSION_MAX_IDLE_SECONDS: int(3600, 1, 86_400),
  /** Default and ceiling of max_lifetime_seconds. @default 1800 / 86400 */
  AIRLOCK_SESSION_LIFETIME_SECONDS: int(1800, 1, 7 * 86_400),
  AIRLOCK_SESSION_MAX_LIFETIME_SECONDS: int(86_400, 1, 7 * 86_400),
  /** Open sessions the server holds at once, across tenants, before 429 session_limit. @default 16 */
  AIRLOCK_MAX_SESSIONS: int(16, 0, 10_000),
  /** Largest file moved in or out of a session by its files API, in bytes. @default 8388608 */
  AIRLOCK_SESSION_FILE_BYTES: int(8 * 1024 * 1024, 1, 64 * 1024 * 1024),
  /**
   * What a session's idle timeout does when its request has no `on_idle`: pause it (where its backend can
   * snapshot: python on gvisor with a data directory; else it closes) or close it. @default close
   */
  AIRLOCK_SESSION_ON_IDLE: z.enum(SESSION_ON_IDLE).default('close'),
  /** Snapshots (paused sessions' images included) one tenant may keep; its policy and tokens narrow it. @default 64 */
  AIRLOCK_SNAPSHOT_MAX_COUNT: int(64, 1, 1_000_000),
  /** Bytes of snapshot images one tenant may keep; its policy and tokens narrow it. @default 4294967296 (4 GiB) */
  AIRLOCK_SNAPSHOT_MAX_BYTES: int(4 * 1024 ** 3, 1024 * 1024, 2 ** 50),
  /** How long a snapshot is kept before the sweeper deletes it, in seconds; 0 keeps it. @default 604800 (7 days) */
  AIRLOCK_SNAPSHOT_RETENTION_SECONDS: int(7 * 24 * 3600, 0, 10 * 365 * 24 * 3600),
  /** How often the sweeper looks for expired snapshots, in milliseconds. @default 60000 */
  AIRLOCK_SNAPSHOT_SWEEP_MS: int(60_000, 100, 86_400_000),
  /**
   * Python sessions on gVisor start from a ready-made snapshot of their image's kernel (libraries imported),
   * made once per image, runtime and memory_mb under the data directory, instead of booting; off: they boot.
   * @default on
   */
  AIRLOCK_SESSION_READY_SNAPSHOT: z.enum(['on', 'off']).default('on'),
  /** How long a session's interpreter may take to start, in milliseconds. @default 60000 */
  AIRLOCK_SESSION_START_TIMEOUT_MS: int(60_000, 1000, 600_000),
  /** How long shutdown waits for running executions, in milliseconds. @default 10000 */
  AIRLOCK_SHUTDOWN_GRACE_MS: int(10_000, 0, 600_000),
  /**
   * Network egress through the proxy (every backend). Embedded and in a worker process: on creates this host's
   * egress network, firewall and proxy. In a NATS-mode gateway: on means its workers offer egress, so egress
   * requests are accepted. remote (worker only): runs go through this host's standalone proxy
   * (services/egress-proxy, AIRLOCK_EGRESS_PROXY_ID) over NATS; the worker starts no network or proxy. @default off
   */
  AIRLOCK_EGRESS: z.enum(['on', 'off', 'remote']).default('off'),
  /** Standalone proxy: its id in `airlock.egress.<id>.`; a remote-egress worker: the proxy it uses. @default local */
  AIRLOCK_EGRESS_PROXY_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a NATS subject token of [A-Za-z0-9_-]')
    .default('local'),
  /** Proxy port on the egress network's gateway (embedded, worker, standalone proxy); 0 picks one. @default 0 */
  AIRLOCK_EGRESS_PROXY_PORT: int(0, 0, 65_535),
  /** Subnet of the egress Docker network (CIDR); Docker picks one when unset. */
  AIRLOCK_EGRESS_SUBNET: z
    .string()
    .regex(/^\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR like 172.30.0.0/24')
    .optional(),
  /** address:port pairs the proxy may dial despite the special-purpose ranges, comma-separated ([v6]:port for IPv6). */
  AIRLOCK_EGRESS_ALLOWANCES: addressPortList(),
  /** Hosts or *.domain patterns no run may reach, comma-separated (a pattern also denies its suffix). */
  AIRLOCK_EGRESS_DENY_HOSTS: z
    .string()
    .transform((s) => items(s.toLowerCase()))
    .default([]),
  /** Ports any run may reach at most, comma-separated, or `any`. @default 80,443 */
  AIRLOCK_EGRESS_PORTS: z
    .string()
    .transform((s, ctx) => {
      if (s.trim() === 'any') return 'any' as const;
      const ports = s.split(',').map((p) => Number(p.trim()));
      if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65_535)) {
        ctx.addIssue({ code: 'custom', message: 'must be comma-separated ports or any' });
        return z.NEVER;
      }
      return ports;
    })
    .default([80, 443]),
  /** JSON file binding credential names to hosts and a header (see README "Egress"). */
  AIRLOCK_EGRESS_CREDENTIALS_FILE: z.string().min(1).optional(),
  /** Directory with one file per secret; unset: AIRLOCK_SECRET_<NAME> variables (development only). */
  AIRLOCK_SECRETS_DIR: z.string().min(1).optional(),
  /** Extra CA certificates (PEM file) that verify TLS upstreams, on top of Node's bundled roots. */
  AIRLOCK_EGRESS_UPSTREAM_CA_FILE: z.string().min(1).optional(),
  /** JSON {"name": ["address", …]} that replaces DNS for the proxy entirely (private names, tests). */
  AIRLOCK_EGRESS_HOSTS_FILE: z.string().min(1).optional(),
  /** Per run: upstream connections at once. @default 16 */
  AIRLOCK_EGRESS_MAX_CONNECTIONS: int(16, 1, 1024),
  /** Per run: bytes both ways. @default 67108864 */
  AIRLOCK_EGRESS_MAX_BYTES: int(64 * 1024 * 1024, 1024, 1024 * 1024 * 1024 * 16),
  /** Per run: requests and tunnels per minute. @default 600 */
  AIRLOCK_EGRESS_REQUESTS_PER_MINUTE: int(600, 1, 1_000_000),
  /** Per run: an idle upstream connection is closed after this many ms. @default 30000 */
  AIRLOCK_EGRESS_IDLE_TIMEOUT_MS: int(30_000, 100, 3_600_000),
  /** Where executions queue: memory (embedded: gateway and worker in one process) or nats (JetStream). @default memory */
  AIRLOCK_QUEUE: z.enum(['memory', 'nats']).default('memory'),
  /** NATS server URLs, comma-separated (with AIRLOCK_QUEUE=nats). @default nats://127.0.0.1:4222 */
  AIRLOCK_NATS_URL: commaList()
    .pipe(z.array(z.string().regex(/^(nats|tls):\/\/[^\s/]+$/, 'must be nats://host:port')).min(1))
    .default(['nats://127.0.0.1:4222']),
  /** How long a job may go without a worker's heartbeat before it counts as lost (ms). @default 30000 */
  AIRLOCK_NATS_ACK_WAIT_MS: int(30_000, 1_000, 3_600_000),
  /**
   * A worker on NATS announces itself (GET /v1/workers) every third of this; one that stops announcing (its
   * process died) is dropped from the list this many ms after its last heartbeat. @default 15000
   */
  AIRLOCK_WORKER_TTL_MS: int(15_000, 1_000, 600_000),
  /** Webhooks: attempts per delivery (the first included) before it is given up. @default 8 */
  AIRLOCK_WEBHOOK_ATTEMPTS: int(8, 1, 100),
  /** Webhooks: how long one attempt (connect, request, response) may take, in ms. @default 10000 */
  AIRLOCK_WEBHOOK_TIMEOUT_MS: int(10_000, 100, 120_000),
  /** Webhooks: the first retry's delay in ms; each later one doubles, with full jitter. @default 1000 */
  AIRLOCK_WEBHOOK_BACKOFF_MS: int(1_000, 1, 3_600_000),
  /** Webhooks: the longest delay between two attempts, in ms. @default 300000 */
  AIRLOCK_WEBHOOK_MAX_BACKOFF_MS: int(300_000, 1, 86_400_000),
  /** Webhooks: deliveries waiting or in flight at once (embedded mode, in memory); over it new ones are dropped and logged. @default 10000 */
  AIRLOCK_WEBHOOK_MAX_PENDING: int(10_000, 1, 1_000_000),
  /**
   * Webhooks: address:port pairs a callback may reach despite the special-purpose ranges (loopback, private …),
   * comma-separated; plain http is accepted only for these.
   */
  AIRLOCK_WEBHOOK_ALLOWANCES: addressPortList(),
});

/** The parsed configuration, with the defaults that depend on other settings filled in. */
export type Config = Readonly<
  Omit<z.infer<typeof ConfigSchema>, 'AIRLOCK_DATA_DIR'> & { AIRLOCK_DATA_DIR: string }
>;
