// Code-interpreter sessions through MCP, over both transports, against a real service: state kept across cells
// and gone after close_session, a matplotlib chart as PNG image content, exceptions as error results with the
// session surviving, and two sessions that cannot see each other.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { CONTAINER_SERVICE_ENV } from './support/containers.ts';
import { callTool, imagesOf, MCP_TRANSPORTS, textOf, useMcpClient } from './support/mcp.ts';
import { useService } from './support/service.ts';

const svc = useService({ ...CONTAINER_SERVICE_ENV, AIRLOCK_BACKENDS: 'isolate,docker' });

const SESSION_TIMEOUT = 240_000;

function sessionIdOf(result: CallToolResult): string {
  expect(result.isError, textOf(result)).toBeUndefined();
  const id = (result.structuredContent as { id?: string }).id;
  expect(id).toMatch(/^ses_/);
  return id!;
}

describe.each(MCP_TRANSPORTS)('sessions over MCP (%s)', (transport) => {
  const mcp = useMcpClient(transport, () => svc().url);

  const cell = (session_id: string, code: string, language = 'python') =>
    callTool(mcp().client, 'run_code', { language, code, session_id });

  it(
    'keeps a variable across cells, returns the last value, and forgets everything after close',
    async () => {
      const created = await callTool(mcp().client, 'create_session', { language: 'python' });
      const id = sessionIdOf(created);
      expect(created.structuredContent).toMatchObject({
        id,
        status: 'ready',
        language: 'python',
        backend: 'docker',
        cells: 0,
        closed_reason: null,
      });
      expect(textOf(created)).toContain(`Pass session_id "${id}" to run_code`);

      const first = await cell(id, 'x = 41\nprint("set")');
      expect(first.isError, textOf(first)).toBeUndefined();
      expect(first.structuredContent).toMatchObject({
        session_id: id,
        result: { outcome: 'success', stdout: 'set\n' },
      });

      const second = await cell(id, 'x + 1');
      expect(second.isError, textOf(second)).toBeUndefined();
      expect(textOf(second)).toContain('--- value ---\n42\n');
      expect(second.structuredContent).toMatchObject({
        session_id: id,
        result: { outcome: 'success', value: { 'text/plain': '42' } },
      });

      const wrongLanguage = await cell(id, 'x', 'javascript');
      expect(wrongLanguage.isError).toBe(true);
      expect(textOf(wrongLanguage)).toBe(
        `Airlock error invalid_request (field language): language: session ${id} runs python, not javascript; leave language out or use another session`,
      );

      const closed = await callTool(mcp().client, 'close_session', { session_id: id });
      expect(closed.isError).toBeUndefined();
      expect(closed.structuredContent).toMatchObject({
        id,
        status: 'closed',
        closed_reason: 'deleted',
        cells: 2,
      });

      const after = await cell(id, 'x');
      expect(after.isError).toBe(true);
      expect(textOf(after)).toBe(
        `Airlock error session_closed: session ${id} is closed (deleted); create a new one`,
      );
    },
    SESSION_TIMEOUT,
  );

  it(
    'returns a matplotlib chart as image content holding a valid PNG',
    async () => {
      const id = sessionIdOf(await callTool(mcp().client, 'create_session', { language: 'python' }));
      try {
        const chart = await cell(
          id,
          [
            'import matplotlib.pyplot as plt',
            'fig, ax = plt.subplots(figsize=(4, 3), dpi=50)',
            'ax.plot([1, 2, 3, 4], [1, 4, 9, 16])',
            'ax.set_title("squares")',
          ].join('\n'),
        );
        expect(chart.isError, textOf(chart)).toBeUndefined();
        const images = imagesOf(chart);
        expect(images).toHaveLength(1);
        expect(images[0]!.mimeType).toBe('image/png');
        const png = PNG.sync.read(Buffer.from(images[0]!.data, 'base64'));
        // 4×3 inches at 50 dpi, cropped to its content by bbox_inches="tight".
        expect(png.width).toBeGreaterThan(100);
        expect(png.width).toBeLessThanOrEqual(220);
        expect(png.height).toBeGreaterThan(75);
        expect(png.height).toBeLessThanOrEqual(170);
        const colours = new Set<number>();
        for (let i = 0; i < png.data.length; i += 4) colours.add(png.data.readUInt32BE(i));
        expect(colours.size).toBeGreaterThan(2);
        expect(textOf(chart)).toContain('1 figure(s) attached as image/png');
        const display = (chart.structuredContent as any).result.display;
        expect(display).toHaveLength(1);
        expect(display[0]['image/png']).toBe(images[0]!.data);
      } finally {
        await callTool(mcp().client, 'close_session', { session_id: id });
      }
    },
    SESSION_TIMEOUT,
  );

  it(
    'reports an exception as an error result, and the session keeps its state',
    async () => {
      const id = sessionIdOf(await callTool(mcp().client, 'create_session', { language: 'python' }));
      try {
        await cell(id, 'total = 10');
        const failed = await cell(id, 'total / 0');
        expect(failed.isError).toBe(true);
        expect(textOf(failed)).toMatch(/^outcome: error/);
        expect(textOf(failed)).toContain('--- exception ---\nZeroDivisionError: division by zero\n');
        expect(failed.structuredContent).toMatchObject({
          result: { outcome: 'error', exception: { name: 'ZeroDivisionError' } },
        });
        const still = await cell(id, 'total * 2');
        expect(still.structuredContent).toMatchObject({ result: { value: { 'text/plain': '20' } } });
      } finally {
        await callTool(mcp().client, 'close_session', { session_id: id });
      }
    },
    SESSION_TIMEOUT,
  );

  it(
    'keeps two sessions apart: variables and files of one are not in the other',
    async () => {
      const a = sessionIdOf(await callTool(mcp().client, 'create_session', { language: 'python' }));
      const b = sessionIdOf(await callTool(mcp().client, 'create_session', { language: 'python' }));
      try {
        const wrote = await cell(a, 'secret = "only-a"\nopen("note.txt", "w").write(secret)');
        expect(wrote.isError, textOf(wrote)).toBeUndefined();
        const name = await cell(b, 'secret');
        expect(name.isError).toBe(true);
        expect(name.structuredContent).toMatchObject({ result: { exception: { name: 'NameError' } } });
        const file = await cell(b, 'import os\nos.path.exists("note.txt")');
        expect(file.structuredContent).toMatchObject({ result: { value: { 'text/plain': 'False' } } });
        const own = await cell(a, 'open("note.txt").read()');
        expect(own.structuredContent).toMatchObject({ result: { value: { 'text/plain': "'only-a'" } } });
      } finally {
        await callTool(mcp().client, 'close_session', { session_id: a });
        await callTool(mcp().client, 'close_session', { session_id: b });
      }
    },
    SESSION_TIMEOUT,
  );

  it(
    'moves files in and out of a session with upload_file and download_file, bounded and by the path rule',
    async () => {
      const id = sessionIdOf(await callTool(mcp().client, 'create_session', { language: 'python' }));
      try {
        const binary = Buffer.from([0, 1, 2, 253, 254, 255]);
        const up = await callTool(mcp().client, 'upload_file', {
          session_id: id,
          path: 'in/data.bin',
          content: binary.toString('base64'),
          encoding: 'base64',
        });
        expect(up.isError, textOf(up)).toBeUndefined();
        expect(up.structuredContent).toMatchObject({ path: 'in/data.bin', size: 6 });
        const made = await cell(
          id,
          'open("report.txt", "w").write(str(list(open("in/data.bin", "rb").read())))',
        );
        expect(made.isError, textOf(made)).toBeUndefined();
        const text = await callTool(mcp().client, 'download_file', { session_id: id, path: 'report.txt' });
        expect(text.isError, textOf(text)).toBeUndefined();
        expect(textOf(text)).toBe('[0, 1, 2, 253, 254, 255]');
        const back = await callTool(mcp().client, 'download_file', {
          session_id: id,
          path: 'in/data.bin',
          encoding: 'base64',
        });
        expect(back.structuredContent).toEqual({
          path: 'in/data.bin',
          size: 6,
          encoding: 'base64',
          content: binary.toString('base64'),
        });
        const missing = await callTool(mcp().client, 'download_file', { session_id: id, path: 'nope.txt' });
        expect(missing.isError).toBe(true);
        expect(textOf(missing)).toContain('file_not_found');
        const traversal = await callTool(mcp().client, 'upload_file', {
          session_id: id,
          path: '../etc/x',
          content: 'x',
        });
        expect(traversal.isError).toBe(true);
        const tooLarge = await callTool(mcp().client, 'upload_file', {
          session_id: id,
          path: 'big.txt',
          content: 'x'.repeat(6 * 1024 * 1024),
        });
        expect(tooLarge.isError).toBe(true);
      } finally {
        await callTool(mcp().client, 'close_session', { session_id: id });
      }
    },
    SESSION_TIMEOUT,
  );

  it(
    'runs a javascript session in the isolate',
    async () => {
      const id = sessionIdOf(await callTool(mcp().client, 'create_session', { language: 'javascript' }));
      try {
        expect(await cell(id, 'globalThis.n = 20', 'javascript')).toMatchObject({
          structuredContent: { result: { outcome: 'success' } },
        });
        const next = await cell(id, 'n + 22', 'javascript');
        expect(next.isError, textOf(next)).toBeUndefined();
        expect(next.structuredContent).toMatchObject({
          session_id: id,
          backend: 'isolate',
          result: { value: { 'text/plain': '42' } },
        });
      } finally {
        await callTool(mcp().client, 'close_session', { session_id: id });
      }
    },
    SESSION_TIMEOUT,
  );
});
