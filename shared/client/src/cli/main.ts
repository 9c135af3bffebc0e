#!/usr/bin/env node
// Entry point of the `airlock` command (the bin of @airlock/client). Hands the process's streams, environment
// and Ctrl-C to the CLI, and sets the exit code; a second Ctrl-C ends the command at once.

import packageJson from '../../package.json' with { type: 'json' };
import { runCli } from './cli.ts';
import { Terminal } from './terminal.ts';

const interrupted = new AbortController();
process.on('SIGINT', () => {
  if (interrupted.signal.aborted) process.exit(130);
  interrupted.abort();
});

process.exitCode = await runCli(process.argv.slice(2), {
  terminal: new Terminal(process.stdout, process.stderr, process.env),
  env: process.env,
  stdin: process.stdin,
  interrupted: interrupted.signal,
  version: packageJson.version,
});
