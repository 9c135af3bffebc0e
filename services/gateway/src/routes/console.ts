// GET /console: the operator console, static files read once at start-up from services/gateway/console and
// the pinned uPlot package, served from memory by exact name (no path from the request ever reaches the file
// system). The page holds no data: it reads the API with the operator's token. A strict Content-Security-Policy
// allows only these files' own scripts and styles, so nothing a program printed can run even if it reached
// the page's markup.

import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';

const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

interface Asset {
  type: string;
  body: Buffer;
}

/** Every file under `dir` by its path relative to it, with `/` separators. */
async function readTree(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const type = TYPES[extname(entry.name)];
    if (type === undefined) continue;
    const path = join(entry.parentPath, entry.name);
    assets.set(relative(dir, path).split('\\').join('/'), { type, body: await readFile(path) });
  }
  return assets;
}

/** uPlot's ES module and stylesheet, from the pinned npm package. */
async function readVendor(): Promise<Map<string, Asset>> {
  const uplot = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  return new Map([
    ['vendor/uPlot.esm.js', { type: TYPES['.js']!, body: await readFile(join(uplot, 'uPlot.esm.js')) }],
    ['vendor/uPlot.min.css', { type: TYPES['.css']!, body: await readFile(join(uplot, 'uPlot.min.css')) }],
  ]);
}

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  const assets = new Map([...(await readTree(CONSOLE_DIR)), ...(await readVendor())]);
  const hidden = { schema: { hide: true } };
  app.get('/console', hidden, async (_request, reply) => reply.redirect('/console/', 308));
  app.get<{ Params: { '*': string } }>('/console/*', hidden, async (request, reply) => {
    const name = request.params['*'] === '' ? 'index.html' : request.params['*'];
    const asset = assets.get(name);
    if (asset === undefined) {
      return reply.code(404).type('text/plain; charset=utf-8').headers(HEADERS).send('not found\n');
    }
    return reply.type(asset.type).headers(HEADERS).send(asset.body);
  });
};
