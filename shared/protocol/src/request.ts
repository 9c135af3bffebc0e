// The execution request: the single zod source for REST, NATS and MCP, and for the OpenAPI document.
// Absolute bounds live here; per-server defaults and ceilings are applied later by resolveLimits.

import { z } from 'zod';
import { Callback } from './callback.ts';

/**
 * Languages served only by templates (sandbox-images/templates: gcc, go, rust, java, ruby, php); each one's
 * default template is named in the template registry. A template may give them a compile step.
 */
export const COMPILED_LANGUAGES = ['c', 'cpp', 'go', 'rust', 'java', 'ruby', 'php'] as const;

export const LANGUAGES = ['javascript', 'typescript', 'python', 'bash', ...COMPILED_LANGUAGES] as const;
/** The backends that run code. */
export const BACKEND_NAMES = ['isolate', 'docker', 'gvisor'] as const;
/** What a request may ask for: one of the backends, or `auto`, which picks one by language and policy. */
export const BACKENDS = ['auto', ...BACKEND_NAMES] as const;

/** Absolute bounds on field sizes, independent of configuration. */
export const FIELD_BOUNDS = {
  codeChars: 1_000_000,
  files: 100,
  pathChars: 255,
  fileContentChars: 8_000_000,
  stdinChars: 1_000_000,
  args: 64,
  argChars: 4_096,
  envEntries: 64,
  envValueChars: 4_096,
  metadataEntries: 16,
  metadataValueChars: 256,
} as const;

export const Language = z.enum(LANGUAGES);
/** A template's name (sandbox-images/templates/<name>, the operator's AIRLOCK_TEMPLATES_DIR/<name>). */
export const TemplateName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a template name: a-z, 0-9 and -, starting with a letter');
export const Backend = z.enum(BACKENDS);
export const BackendName = z.enum(BACKEND_NAMES);

const noNul = (s: string) => !s.includes('\u0000');
const wellFormed = (s: string) => s.isWellFormed();

/**
 * The one rule for free text (code, stdin, args, env values, metadata values): at most `max` characters, no
 * NUL (it ends a C string: what a check reads and what runs would differ) and well-formed (no lone surrogate).
 * Everything else — newlines, tabs, other control characters, U+2028/U+2029, bidirectional controls — is
 * passed on exactly as given; a reader that displays these values must escape them itself.
 */
export function freeText(max: number) {
  return z
    .string()
    .max(max)
    .refine(noNul, 'must not contain NUL characters')
    .refine(wellFormed, 'must be well-formed text (no lone surrogate)');
}
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A relative path inside the sandbox's working folder: no absolute paths, no `..`, no empty segments. */
export const FilePath = z
  .string()
  .min(1)
  .max(FIELD_BOUNDS.pathChars)
  .regex(/^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/, 'must be a relative path of [A-Za-z0-9._-] segments')
  .refine(
    (p) => p.split('/').every((seg) => seg !== '.' && seg !== '..'),
    'must not contain . or .. segments',
  );

export const FileInput = z
  .object({
    path: FilePath,
    content: z.string().max(FIELD_BOUNDS.fileContentChars),
    encoding: z.enum(['utf8', 'base64']).default('utf8'),
  })
  .strict()
  .superRefine((file, ctx) => {
    if (file.encoding === 'base64' && !BASE64.test(file.content)) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'is not valid base64' });
    }
    if (file.encoding === 'utf8' && !wellFormed(file.content)) {
      ctx.addIssue({
        code: 'custom',
        path: ['content'],
        message: 'is not well-formed UTF-16 (lone surrogate)',
      });
    }
  });

export const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a plain variable name')
  .refine(
    (n) => !/^(LD_|DYLD_|NODE_OPTIONS$|PYTHONSTARTUP$|BASH_ENV$|ENV$)/.test(n),
    'is reserved: LD_*, DYLD_*, NODE_OPTIONS, PYTHONSTARTUP, BASH_ENV and ENV change how the loader or the ' +
      'interpreter starts (code injected before the program), so a request may not set them',
  );

export const LimitsInput = z
  .object({
    wall_time_ms: z.number().int().min(10).max(3_600_000).optional(),
    cpu_time_ms: z.number().int().min(10).max(3_600_000).optional(),
    memory_mb: z.number().int().min(8).max(65_536).optional(),
    output_bytes: z.number().int().min(1).max(1_073_741_824).optional(),
    /** Wall-clock limit of the compile step (templates whose language compiles), apart from wall_time_ms. */
    compile_wall_time_ms: z.number().int().min(10).max(3_600_000).optional(),
  })
  .strict();

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * An egress host in canonical form — lower case, IDN as punycode, no trailing dot, IPv4 shorthands such as
 * `0x7f.1` expanded — or a `*.suffix` pattern (any name below suffix, never over a bare top-level label);
 * undefined when it is not one. The one rule for the request, the tenant policy, the intent token and the
 * egress proxy's credential bindings.
 */
export function canonicalEgressHost(pattern: string): string | undefined {
  const wildcard = pattern.startsWith('*.');
  const name = wildcard ? pattern.slice(2) : pattern;
  if (name.length === 0 || name.length > 253 || /[\s/\\@:?#[\]%*]/u.test(name)) return undefined;
  let host: string;
  try {
    host = new URL(`http://${name}/`).hostname;
  } catch {
    return undefined;
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253 || !host.split('.').every((l) => HOST_LABEL.test(l)))
    return undefined;
  if (wildcard && !host.includes('.')) return undefined;
  return wildcard ? `*.${host}` : host;
}

/** An egress host (`api.example.com`) or one-label wildcard (`*.example.com`), stored canonical. */
const EgressHost = z
  .string()
  .max(253)
  .transform((value, ctx) => {
    const canonical = canonicalEgressHost(value);
    if (canonical === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a host name or *.domain pattern (no scheme, port, path or user-info)',
      });
      return z.NEVER;
    }
    return canonical;
  });

export const EgressAllowRule = z
  .object({
    host: EgressHost,
    ports: z.array(z.number().int().min(1).max(65_535)).min(1).max(16).optional(),
    methods: z
      .array(z.string().regex(/^[A-Z]{1,16}$/, 'must be an upper-case HTTP method'))
      .min(1)
      .max(16)
      .optional(),
  })
  .strict();

export const NetworkInput = z.discriminatedUnion('egress', [
  z.object({ egress: z.literal('none') }).strict(),
  z
    .object({
      egress: z.literal('proxy'),
      allow: z.array(EgressAllowRule).min(1).max(64),
      credentials: z
        .array(
          z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be a credential name of [A-Za-z0-9_.-]'),
        )
        .max(16)
        .default([]),
    })
    .strict(),
]);

/** Caller's labels, returned as given (also a session's). */
export const Metadata = z
  .record(
    z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be a lower-case label key'),
    freeText(FIELD_BOUNDS.metadataValueChars),
  )
  .refine(
    (m) => Object.keys(m).length <= FIELD_BOUNDS.metadataEntries,
    `must have at most ${FIELD_BOUNDS.metadataEntries} entries`,
  );

/** The program text (also a session cell's). */
export const Code = freeText(FIELD_BOUNDS.codeChars);

/** Input files for the working folder: bounded, no duplicate paths (also a session cell's). */
export const Files = z
  .array(FileInput)
  .max(FIELD_BOUNDS.files)
  .default([])
  .superRefine((files, ctx) => {
    const seen = new Set<string>();
    files.forEach((f, i) => {
      if (seen.has(f.path)) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: 'is a duplicate' });
      seen.add(f.path);
    });
  });

/** The program's stdin text (also a session cell's); bytes that are not text go in a base64 file. */
export const Stdin = freeText(FIELD_BOUNDS.stdinChars).default('');

export const ExecutionRequest = z
  .object({
    language: Language,
    code: Code,
    files: Files,
    stdin: Stdin,
    args: z.array(freeText(FIELD_BOUNDS.argChars)).max(FIELD_BOUNDS.args).default([]),
    env: z
      .record(EnvName, freeText(FIELD_BOUNDS.envValueChars))
      .refine(
        (e) => Object.keys(e).length <= FIELD_BOUNDS.envEntries,
        `must have at most ${FIELD_BOUNDS.envEntries} entries`,
      )
      .default({}),
    limits: LimitsInput.default({}),
    backend: Backend.default('auto'),
    /** The environment (image) to run in: a template serving `language`; absent, the language's default. */
    template: TemplateName.optional(),
    network: NetworkInput.default({ egress: 'none' }),
    /**
     * Judge0-style check: the result says `matched` — whether stdout equals this text, both with trailing
     * newlines (`\n`, `\r\n`) removed; nothing else is normalized.
     */
    expected_output: freeText(FIELD_BOUNDS.stdinChars).optional(),
    metadata: Metadata.default({}),
    /** Scaled out on NATS: run again if the worker is lost mid-job (default: never twice, `worker lost`). */
    retry_on_worker_loss: z.boolean().optional(),
    /** Where to post this execution's lifecycle events (signed webhooks). */
    callback: Callback.optional(),
  })
  .strict();

export type ExecutionRequestInput = z.input<typeof ExecutionRequest>;
export type ExecutionRequest = z.output<typeof ExecutionRequest>;
export type Language = z.infer<typeof Language>;
export type Backend = z.infer<typeof Backend>;
export type BackendName = z.infer<typeof BackendName>;
export type LimitsInput = z.infer<typeof LimitsInput>;
export type NetworkInput = z.output<typeof NetworkInput>;
export type EgressAllowRule = z.infer<typeof EgressAllowRule>;
