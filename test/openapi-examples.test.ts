// The README's examples of the executions and sessions API are the OpenAPI document's: every request body a
// `curl -d '…'` of the "Using it" section sends (but those shown refused, with their error) is an example of its
// operation's request body, every ```json
// block there (each preceded by `<!-- openapi-example: OPERATION STATUS NAME -->`) is that response example,
// and each one validates against its schema in the live document (JSON Schema 2020-12, as clients read it).

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, useService } from './support/service.ts';

const ROOT = resolve(import.meta.dirname, '..');
const service = useService();

let readme: string;
let doc: any;
let ajv: InstanceType<typeof Ajv2020>;
const DOC_ID = 'https://airlock.invalid/openapi.json';

beforeAll(async () => {
  const text = await readFile(join(ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('\n## Using it\n');
  const end = text.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThan(0);
  readme = text.slice(start, end);
  doc = (await call(service().url, 'GET', '/openapi.json')).body;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: DOC_ID, components: doc.components });
});

/** The operation of a method and path in the document, by its operationId. */
function operation(id: string): { method: string; path: string; op: any } {
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(ops)) if (op.operationId === id) return { method, path, op };
  }
  throw new Error(`no operation ${id} in the document`);
}

/** What the schema (a $ref into the document's components, or inline) says of `value`; [] when it validates. */
function problems(schema: Record<string, unknown>, value: unknown): string[] {
  const rooted = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`));
  const validate = ajv.compile(rooted);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Which operation a README `curl -X POST … -d` addresses. */
function operationOfPath(path: string): string {
  if (path === '/v1/executions') return 'createExecution';
  if (path === '/v1/sessions') return 'createSession';
  if (/^\/v1\/sessions\/[^/]+\/executions$/.test(path)) return 'runCell';
  throw new Error(`a README request to ${path} has no operation here: add it to operationOfPath`);
}

function shellBlocks(): string[] {
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

describe("the README's API examples", () => {
  it('every request body sent with curl -d is an example of its operation and fits its schema', () => {
    const requests = shellBlocks().flatMap((block) =>
      block
        .split(/^(?=curl )/m)
        // A command shown with the error it gets (`# {"error":…}`) demonstrates a refusal, not an example.
        .filter(
          (command) =>
            command.startsWith('curl ') && command.includes(" -d '") && !command.includes('{"error"'),
        )
        .map((command) => {
          const url = command.match(/((?:http:\/\/)?(?:127\.0\.0\.1|localhost):\d+\/[^\s']*)/)?.[1];
          const body = command.match(/ -d '([^']*)'/)?.[1];
          if (!url || body === undefined) throw new Error(`cannot read the README command: ${command}`);
          const path = new URL(url.startsWith('http') ? url : `http://${url}`).pathname;
          return { id: operationOfPath(path), body: JSON.parse(body) as unknown };
        }),
    );
    expect(requests.length).toBeGreaterThanOrEqual(8);
    for (const { id, body } of requests) {
      const media = operation(id).op.requestBody.content['application/json'];
      const examples = Object.values(media.examples as Record<string, { value: unknown }>).map(
        (e) => e.value,
      );
      expect(examples, `${id}: ${JSON.stringify(body)}`).toContainEqual(body);
      expect(problems(media.schema, body), `${id}: ${JSON.stringify(body)}`).toEqual([]);
    }
  });

  it('every JSON block is a marked response example of its operation and fits its schema', () => {
    const blocks = [
      ...readme.matchAll(/(?:<!-- openapi-example: (\S+) (\d{3}) (\S+) -->\n)?```json\n([\s\S]*?)```/g),
    ];
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const [whole, id, status, name, json] of blocks) {
      expect(id, `a JSON block without its openapi-example marker: ${whole.slice(0, 120)}`).toBeDefined();
      const value = JSON.parse(json ?? '') as unknown;
      const media = operation(id as string).op.responses[status as string].content['application/json'];
      expect(media.examples[name as string]?.value, `${id} ${status} ${name}`).toEqual(value);
      expect(problems(media.schema, value), `${id} ${status} ${name}`).toEqual([]);
    }
  });

  it('every example in the document fits its schema', () => {
    let checked = 0;
    for (const ops of Object.values(doc.paths as Record<string, Record<string, any>>)) {
      for (const op of Object.values(ops)) {
        const media = [
          op.requestBody?.content?.['application/json'],
          ...Object.values(op.responses as Record<string, any>).map((r) => r.content?.['application/json']),
        ];
        for (const m of media) {
          for (const [name, example] of Object.entries(
            (m?.examples ?? {}) as Record<string, { value: unknown }>,
          )) {
            expect(problems(m.schema, example.value), `${op.operationId} ${name}`).toEqual([]);
            checked += 1;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });
});
