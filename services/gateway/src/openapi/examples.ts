// Examples of the document, by operationId: requests and responses as this server really sent them (taken from
// runs, ids and times included). The README's examples of the API are these; test/openapi-examples.test.ts holds
// the two together and checks each against its schema. Never a placeholder value.

import { type ExecutionResult, emptyResult } from '@airlock/protocol';

export interface Example {
  summary: string;
  value: unknown;
}

export interface OperationExamples {
  request?: Record<string, Example>;
  /** By HTTP status; the media type is the operation's (JSON, or text/event-stream for the events route). */
  responses?: Record<string, Record<string, Example>>;
}

const LIMITS = { wall_time_ms: 10000, cpu_time_ms: 10000, memory_mb: 128, output_bytes: 1048576 };

/** The result of a run that exited 0: its stdout and usage; nothing on stderr, nothing truncated. */
function succeeded(stdout: string, usage: ExecutionResult['usage']): ExecutionResult {
  return { ...emptyResult('success', ''), exit_code: 0, stdout, usage, reason: null };
}

const hello = {
  id: 'ex_WRowFhaYvX-c-FcB1eEw1A',
  tenant: 'local',
  status: 'finished',
  language: 'javascript',
  backend: 'isolate',
  limits: LIMITS,
  metadata: {},
  template: null,
  created_at: '2026-12-02T13:42:50.026Z',
  started_at: '2026-12-02T13:42:50.220Z',
  finished_at: '2026-12-02T13:42:50.276Z',
  result: succeeded("hello [ 'a' ]\n", { cpu_ms: 3.442153, wall_ms: 34, memory_peak_bytes: 887804 }),
};

const queued = {
  id: 'ex_I0NRAPjEU7kVdWr8HnvLOw',
  tenant: 'local',
  status: 'queued',
  language: 'javascript',
  backend: 'isolate',
  limits: LIMITS,
  metadata: {},
  template: null,
  created_at: '2026-12-02T13:42:50.443Z',
  started_at: null,
  finished_at: null,
  result: null,
};

const running = {
  ...queued,
  id: 'ex_Qqe0eVcp5XanqLqbXn13Dg',
  status: 'running',
  created_at: '2026-12-02T13:42:54.976Z',
  started_at: '2026-12-02T13:42:55.057Z',
};

const canceled = {
  ...queued,
  id: 'ex_wLEYs9dSw_DvMc8RTABE6Q',
  status: 'finished',
  created_at: '2026-12-02T13:43:27.905Z',
  started_at: '2026-12-02T13:43:27.944Z',
  finished_at: '2026-12-02T13:43:34.165Z',
  result: {
    outcome: 'canceled',
    exit_code: null,
    signal: null,
    stdout: '',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    usage: { cpu_ms: 6098.114296, wall_ms: 6138, memory_peak_bytes: 877588 },
    reason: 'canceled while running',
  },
};

/** What the finished Python examples on gVisor share: tenant, status, runtime, limits, no labels, no template. */
const FINISHED_ON_GVISOR = {
  tenant: 'local',
  status: 'finished',
  language: 'python',
  backend: 'gvisor',
  limits: LIMITS,
  metadata: {},
  template: null,
};

const python = {
  id: 'ex_-R-AvYqHk5xUn8iEix2IZQ',
  ...FINISHED_ON_GVISOR,
  created_at: '2026-11-30T10:12:41.380Z',
  started_at: '2026-11-30T10:12:41.392Z',
  finished_at: '2026-11-30T10:12:42.545Z',
  result: {
    ...succeeded("[3 5 7] ['x']\n", { cpu_ms: 940, wall_ms: 1146, memory_peak_bytes: 45654016 }),
    files: [{ path: 'result.txt', size: 4, encoding: 'base64', content: 'ZG9uZQ==' }],
  },
};

const SESSION_ID = 'ses_UIS5DCMbcldebYwZIOGs0w';

const session = {
  id: SESSION_ID,
  tenant: 'local',
  language: 'python',
  backend: 'gvisor',
  status: 'ready',
  limits: LIMITS,
  created_at: '2026-11-30T10:20:03.114Z',
  last_used_at: '2026-11-30T10:20:03.114Z',
  expires_at: '2026-11-30T10:30:03.114Z',
  on_idle: 'close',
  cells: 0,
  closed_at: null,
  closed_reason: null,
  metadata: {},
  template: null,
};

const snapshot = {
  id: 'snp_Hq3vY0c2Rr8lQx1mZt5aXw',
  session_id: SESSION_ID,
  language: 'python',
  backend: 'gvisor',
  memory_mb: 128,
  size_bytes: 14556217,
  sha256: '85c2705e71c0ec562c0bf3f1b42477ceede79e096af15aadcfba010a0ed81908',
  created_at: '2026-11-30T10:21:02.418Z',
  expires_at: '2026-12-07T10:21:02.418Z',
};

const closedSession = {
  ...session,
  status: 'closed',
  last_used_at: '2026-11-30T10:21:40.871Z',
  expires_at: '2026-11-30T10:31:40.871Z',
  cells: 3,
  closed_at: '2026-11-30T10:22:15.502Z',
  closed_reason: 'deleted',
};

const cell = {
  id: 'ex_mJ1q0u2nRvS8cO0YlXh4kw',
  ...FINISHED_ON_GVISOR,
  created_at: '2026-11-30T10:20:11.402Z',
  started_at: '2026-11-30T10:20:11.405Z',
  finished_at: '2026-11-30T10:20:11.633Z',
  result: {
    outcome: 'success',
    exit_code: null,
    signal: null,
    stdout: 'loaded 10\n',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    usage: { cpu_ms: 211, wall_ms: 228, memory_peak_bytes: null },
    reason: null,
    display: [],
    value: null,
    exception: null,
  },
  session_id: SESSION_ID,
};

const valueCell = {
  ...cell,
  id: 'ex_3bWqk6JxT0eNf1cR9yZ2Pg',
  created_at: '2026-11-30T10:20:30.010Z',
  started_at: '2026-11-30T10:20:30.012Z',
  finished_at: '2026-11-30T10:20:30.031Z',
  result: {
    ...cell.result,
    stdout: '',
    usage: { cpu_ms: 9, wall_ms: 19, memory_peak_bytes: null },
    value: { 'text/plain': '90' },
  },
};

const EVENTS = [
  'id: 1\nevent: state\ndata: {"status":"queued"}\n',
  'id: 2\nevent: state\ndata: {"status":"running"}\n',
  'id: 3\nevent: stdout\ndata: {"data":"working\\n"}\n',
  'id: 4\nevent: stderr\ndata: {"data":"careful\\n"}\n',
  `id: 5\nevent: result\ndata: ${JSON.stringify({
    ...running,
    status: 'finished',
    finished_at: '2026-12-02T13:42:55.257Z',
    result: {
      ...hello.result,
      stdout: 'working\n',
      stderr: 'careful\n',
      usage: { cpu_ms: 1.347478, wall_ms: 127, memory_peak_bytes: 881876 },
    },
  })}\n`,
].join('\n');

/** The examples of an operation with one example, of one response status. */
function oneResponse(status: string, name: string, summary: string, value: unknown): OperationExamples {
  return { responses: { [status]: { [name]: { summary, value } } } };
}

export const EXAMPLES: Readonly<Record<string, OperationExamples>> = {
  createExecution: {
    request: {
      hello: {
        summary: 'JavaScript with arguments',
        value: { language: 'javascript', code: 'console.log("hello", airlock.args)', args: ['a'] },
      },
      typescript: {
        summary: 'TypeScript with stdin, a file and limits',
        value: {
          language: 'typescript',
          code: 'import { greet } from "./lib.ts"; const input: string = airlock.stdin; console.log(greet(input.trim()))',
          // The file's content is TypeScript with a template literal, not one of ours.
          files: [{ path: 'lib.ts', content: `export const greet = (n: string): string => \`hi \${n}\`` }],
          stdin: 'world\n',
          limits: { wall_time_ms: 2000, memory_mb: 64 },
        },
      },
      minimal: {
        summary: 'The least a request needs',
        value: { language: 'javascript', code: 'console.log(1)' },
      },
      python: {
        summary: 'Python under gVisor, writing an output file',
        value: {
          language: 'python',
          backend: 'gvisor',
          args: ['x'],
          code: 'import sys, numpy as np\nprint(np.arange(6).reshape(2,3).sum(axis=0), sys.argv[1:])\nopen("out/result.txt","w").write("done")',
        },
      },
      callback: {
        summary: 'With a callback when it has finished',
        value: {
          language: 'javascript',
          code: 'console.log(6*7)',
          callback: { url: 'https://hooks.example.com/airlock', events: ['execution.finished'] },
        },
      },
      callbackLoopback: {
        summary: 'With a callback to a loopback receiver (allowed only where the tenant policy allows it)',
        value: {
          language: 'javascript',
          code: 'console.log(6*7)',
          callback: { url: 'http://127.0.0.1:9000/airlock' },
        },
      },
    },
    responses: {
      '200': { replay: { summary: 'The same Idempotency-Key and body again', value: hello } },
      '201': {
        finished: { summary: 'Finished within ?wait=', value: hello },
        python: { summary: 'Python with an output file', value: python },
        queued: { summary: 'Without ?wait: accepted and queued', value: queued },
      },
      '202': { running: { summary: 'Still running when ?wait= ran out', value: running } },
    },
  },
  getExecution: oneResponse('200', 'finished', 'A finished execution', hello),
  cancelExecution: oneResponse('200', 'canceled', 'Canceled while running', canceled),
  streamExecutionEvents: oneResponse('200', 'events', 'A run that wrote to stdout and stderr', EVENTS),
  listRuntimes: {
    responses: {
      '200': {
        isolate: {
          summary: 'A server that runs the isolate backend only',
          value: {
            runtimes: ['javascript', 'typescript'].map((language) => ({
              language,
              backend: 'isolate',
              version: 'v8 13.6.233.17-node.53',
              available: true,
            })),
            limits: {
              defaults: { wall_time_ms: 10000, cpu_time_ms: 10000, memory_mb: 128, output_bytes: 1048576 },
              ceilings: { wall_time_ms: 60000, cpu_time_ms: 60000, memory_mb: 1024, output_bytes: 16777216 },
            },
          },
        },
      },
    },
  },
  createSession: {
    request: {
      python: {
        summary: 'A Python session under gVisor',
        value: { language: 'python', backend: 'gvisor', idle_timeout_seconds: 600 },
      },
      idlePause: {
        summary: 'A Python session that pauses when idle (resumed by its next cell) instead of closing',
        value: { language: 'python', backend: 'gvisor', idle_timeout_seconds: 60, on_idle: 'pause' },
      },
      template: {
        summary: 'A Python session started from a template (its packages and files in every cell)',
        value: { language: 'python', template: 'sqlite' },
      },
      fork: {
        summary: 'A session started from a snapshot (a fork)',
        value: { language: 'python', from_snapshot: 'snp_Hq3vY0c2Rr8lQx1mZt5aXw' },
      },
      resumeOnWorkerLoss: {
        summary: 'NATS mode: a session that resumes from its latest snapshot if its worker is lost',
        value: { language: 'python', backend: 'gvisor', resume_on_worker_loss: true },
      },
    },
    responses: { '201': { ready: { summary: 'Open and ready', value: session } } },
  },
  snapshotSession: oneResponse('201', 'taken', 'Taken between cells', snapshot),
  getSnapshot: oneResponse('200', 'snapshot', 'A snapshot of the caller', snapshot),
  listSnapshots: oneResponse('200', 'list', "The caller's snapshots", { snapshots: [snapshot] }),
  getSession: oneResponse('200', 'ready', 'An open session', session),
  closeSession: oneResponse('200', 'closed', 'Closed by DELETE', closedSession),
  runCell: {
    request: {
      load: {
        summary: 'A cell that prints',
        value: { code: 'import numpy as np\ndata = np.arange(10)\nprint("loaded", len(data))' },
      },
      value: { summary: 'A cell whose last expression is its value', value: { code: 'data.sum() * 2' } },
      streamed: {
        summary: 'A cell started with ?wait=0 and followed on its event stream',
        value: { code: 'import time\nprint("hello")\ntime.sleep(0.5)\n6 * 7' },
      },
      files: {
        summary: 'A cell that writes an out/ file and a link (the files API never follows it)',
        value: {
          code: 'import os\nos.makedirs("out", exist_ok=True)\nopen("out/summary.txt", "w").write("3000")\nos.symlink("/etc/passwd", "link")',
        },
      },
      chart: {
        summary: 'A cell that draws a chart, with more time',
        value: {
          code: 'import matplotlib.pyplot as plt\nplt.plot(data, data ** 2)\nplt.title("squares")',
          limits: { wall_time_ms: 30000 },
        },
      },
    },
    responses: {
      '201': {
        printed: { summary: 'Output on stdout', value: cell },
        value: { summary: 'The value of the last expression', value: valueCell },
      },
    },
  },
};
