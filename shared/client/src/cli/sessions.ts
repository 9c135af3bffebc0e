// `airlock sessions create|get|pause|resume|close`: sessions keep an interpreter alive across cells (`airlock run FILE
// --session ID` runs one). `create` prints only the id on stdout, so `S=$(airlock sessions create python)` works.

import { SESSION_ON_IDLE, type Session, type SessionRequestInput } from '@airlock/protocol';
import { optional, parse, positiveInteger, usage } from './args.ts';
import { type CliContext, clientFor, printJson } from './context.ts';
import { placementFrom } from './request.ts';

const SESSIONS_USAGE = `usage:
  airlock sessions create LANG [--backend NAME] [--template NAME] [--limit KEY=N]… [--idle-timeout S] [--lifetime S]
                         [--on-idle pause|close]
      starts a session (python, javascript or typescript), from a template if given, and prints its id;
      --on-idle pause pauses it at its idle timeout instead of closing it (python on gvisor)
  airlock sessions get ID      shows a session
  airlock sessions pause ID    saves a session and frees its sandbox (its next cell resumes it)
  airlock sessions resume ID   restores a paused session
  airlock sessions close ID    closes a session: its interpreter and files are gone
options: --url URL, --json (print the session as JSON)`;

const OPTIONS = {
  backend: { type: 'string', short: 'b' },
  template: { type: 'string', short: 't' },
  limit: { type: 'string', multiple: true },
  'idle-timeout': { type: 'string' },
  lifetime: { type: 'string' },
  'on-idle': { type: 'string' },
  url: { type: 'string' },
} as const;

export async function sessions(args: string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS);
  const [action, subject, ...extra] = positionals;
  if (values.help || action === undefined) {
    context.terminal.stdout(`${SESSIONS_USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (subject === undefined) usage(`sessions ${action} needs ${action === 'create' ? 'LANG' : 'ID'}`);
  if (extra.length > 0) usage(`unexpected argument '${extra[0]}'`);
  if (action !== 'create') {
    for (const name of Object.keys(OPTIONS).filter((n) => n !== 'url')) {
      if (values[name] !== undefined) usage(`--${name} applies to sessions create only`);
    }
  }
  const client = clientFor(context, optional(values, 'url'));
  const signal = context.interrupted;
  let session: Session;
  if (action === 'create') {
    const request: SessionRequestInput = {
      language: subject as SessionRequestInput['language'],
      ...(placementFrom(values) as Pick<SessionRequestInput, 'backend' | 'template' | 'limits'>),
    };
    const idle = positiveInteger(values, 'idle-timeout');
    if (idle !== undefined) request.idle_timeout_seconds = idle;
    const lifetime = positiveInteger(values, 'lifetime');
    if (lifetime !== undefined) request.max_lifetime_seconds = lifetime;
    const onIdle = optional(values, 'on-idle');
    if (onIdle !== undefined) {
      const known = SESSION_ON_IDLE.find((v) => v === onIdle);
      if (known === undefined) usage(`--on-idle is pause or close, not '${onIdle}'`);
      request.on_idle = known;
    }
    session = await client.createSession(request, { signal });
  } else if (action === 'get') {
    session = await client.getSession(subject, { signal });
  } else if (action === 'pause') {
    session = await client.pauseSession(subject, { signal });
  } else if (action === 'resume') {
    session = await client.resumeSession(subject, { signal });
  } else if (action === 'close') {
    session = await client.closeSession(subject, { signal });
  } else {
    usage(`unknown action 'sessions ${action}' (create, get, pause, resume or close)`);
  }
  if (values.json) printJson(context, session);
  else if (action === 'create') {
    context.terminal.stdout(`${session.id}\n`);
    context.terminal.note(describe(session));
  } else context.terminal.stdout(`${describe(session)}\n`);
  return 0;
}

function describe(session: Session): string {
  const state =
    session.status === 'closed'
      ? `closed (${session.closed_reason ?? 'unknown reason'}) at ${session.closed_at}`
      : `${session.status}, closes at ${session.expires_at} at the latest`;
  return `${session.id}: ${session.language} on ${session.backend}, ${state}, ${session.cells} cell(s), memory ${session.limits.memory_mb} MB`;
}
