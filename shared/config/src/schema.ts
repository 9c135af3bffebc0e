// Every AIRLOCK_* variable with its default. Parsed once by a service's main.ts, then frozen; nothing else reads
// process.env. Errors quote the variable, the bad value and what was expected.

import { z } from 'zod';

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

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
  AIRLOCK_BACKENDS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(['isolate', 'docker', 'gvisor'])).min(1))
    .default(['isolate', 'docker', 'gvisor']),
  /** Docker Engine socket for the container backends. @default /var/run/docker.sock */
  AIRLOCK_DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),
  /** Warm containers per image and runtime. @default 2 */
  AIRLOCK_POOL_SIZE: int(2, 0, 64),
  /** Warm isolate host processes. @default 2 */
  AIRLOCK_ISOLATE_HOSTS: int(2, 1, 64),
  /** Queued (not yet running) executions across all tenants before 429. @default 1000 */
  AIRLOCK_MAX_QUEUED: int(1000, 1, 1_000_000),
  /** Largest accepted request body in bytes. @default 10485760 */
  AIRLOCK_BODY_LIMIT_BYTES: int(10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  /** Longest `?wait=` in seconds. @default 60 */
  AIRLOCK_MAX_WAIT_SECONDS: int(60, 0, 3600),
  /** Server-Sent Event streams open at once before 429. @default 1000 */
  AIRLOCK_MAX_WATCHERS: int(1000, 1, 100_000),
  /** Finished executions are kept this long, in seconds. @default 3600 */
  AIRLOCK_RETENTION_SECONDS: int(3600, 1, 30 * 24 * 3600),
  /** Upper bound on executions kept in memory. @default 10000 */
  AIRLOCK_MAX_RETAINED: int(10_000, 10, 10_000_000),
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
  /** JWKS file with the tool broker's public keys; setting it (or the URL) turns intent tokens on. */
  AIRLOCK_JWKS_FILE: z.string().min(1).optional(),
  /** JWKS URL with the tool broker's public keys (cached; an unknown kid refreshes once). */
  AIRLOCK_JWKS_URL: z.url().optional(),
  /** Accepted token issuers, comma-separated. Required with keys. */
  AIRLOCK_TOKEN_ISSUERS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((i) => i.trim())
        .filter(Boolean),
    )
    .optional(),
  /** The `aud` every token must carry. @default airlock */
  AIRLOCK_TOKEN_AUDIENCE: z.string().min(1).default('airlock'),
  /** Longest accepted token lifetime (exp - iat), seconds. @default 900 */
  AIRLOCK_TOKEN_MAX_LIFETIME_SECONDS: int(900, 1, 86_400),
  /** Executions one token (jti) may start unless its intent says otherwise. @default 1 */
  AIRLOCK_TOKEN_MAX_EXECUTIONS: int(1, 1, 1_000_000),
  /** Tenant policy JSON file. Required with keys. */
  AIRLOCK_TENANT_POLICY_FILE: z.string().min(1).optional(),
  /** How long shutdown waits for running executions, in milliseconds. @default 10000 */
  AIRLOCK_SHUTDOWN_GRACE_MS: int(10_000, 0, 600_000),
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
