// The OpenAPI 3.1 document of this gateway (/openapi.json) and its docs page (/docs): built from the routes as
// they are registered (their zod schemas, see operations.ts), the named schemas and this server's ceilings and
// authorization mode. Must be registered before the routes it documents. Serves nothing a caller could not
// already learn from the API itself.

import type { RequestSchemas } from '@airlock/protocol';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { type SessionCeilings, schemaCatalog } from './components.ts';
import { componentSchemas } from './json-schema.ts';
import { type OperationContext, openApiPath, operationOf } from './operations.ts';

export interface DocumentOptions {
  version: string;
  /** `token`: every call but the public ones needs a Bearer intent token; `local`: none does. */
  mode: 'local' | 'token';
  bodyLimitBytes: number;
  /** This server's request schemas (requestSchemasWithin its ceilings): what the routes validate with. */
  requestSchemas: RequestSchemas;
  sessionCeilings?: SessionCeilings;
}

const TAGS: Record<string, string> = {
  executions: 'Submit code, read, follow and cancel its execution.',
  sessions: 'Sandboxes whose interpreter lives across cells, like a notebook.',
  runtimes: 'What this server can run.',
  mcp: 'The Model Context Protocol server, for agent hosts that connect by URL.',
};

const SECURITY_SCHEMES = {
  intentToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A signed intent token (JWS) from a tool broker this server trusts: its tenant, and what the agent may ' +
      'run. Not needed in local development mode (a server started without token keys).',
  },
};

function description(mode: DocumentOptions['mode']): string {
  const auth =
    mode === 'token'
      ? 'This server requires an intent token: `Authorization: Bearer <token>`.'
      : 'This server runs in local development mode: no token is needed, every call runs as tenant `local`.';
  return (
    'Sandboxed code execution for AI agents. Every error has the shape ' +
    '`{"error":{"code","message","field"?,"retry_after"?}}` from one table of codes; 429 and 503 also carry ' +
    `\`Retry-After\`. ${auth}`
  );
}

/** The docs page's logo: the name, in place of the renderer's own. */
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40">' +
  '<rect x="2" y="14" width="22" height="18" rx="3" fill="#fff"/>' +
  '<path d="M7 14v-4a6 6 0 0 1 12 0v4" stroke="#fff" stroke-width="3" fill="none"/>' +
  '<text x="32" y="29" font-family="sans-serif" font-size="22" font-weight="bold" fill="#fff">Airlock</text></svg>';
/** The renderer's box for exploring other documents has no use here. */
const PAGE_CSS = '.swagger-ui .topbar .download-url-wrapper { display: none }';

/** Registers /openapi.json and /docs; every route registered after this is documented. */
export async function registerOpenApi(app: FastifyInstance, options: DocumentOptions): Promise<void> {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  const context: OperationContext = {
    catalog: schemaCatalog(options.requestSchemas, options.sessionCeilings),
    tokenMode: options.mode === 'token',
    bodyLimitBytes: options.bodyLimitBytes,
  };

  await app.register(swagger, {
    openapi: { openapi: '3.1.0', info: { title: 'Airlock', version: options.version } },
    transformObject: () => buildDocument(routes, context, options) as never,
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: {
      persistAuthorization: true,
      deepLinking: true,
      docExpansion: 'list',
      tagsSorter: 'alpha',
      displayOperationId: true,
      tryItOutEnabled: true,
    },
    theme: { title: 'Airlock API', css: [{ filename: 'airlock.css', content: PAGE_CSS }] },
    logo: { type: 'image/svg+xml', content: LOGO_SVG },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

function buildDocument(routes: readonly RouteOptions[], context: OperationContext, options: DocumentOptions) {
  const paths: Record<string, Record<string, unknown>> = {};
  const used = { input: [] as unknown[], output: [] as unknown[] };
  for (const route of routes) {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    if (methods.length === 0) continue;
    const operation = operationOf(context, route);
    if (!operation) continue;
    const path = openApiPath(route.url);
    for (const method of methods) {
      paths[path] = { ...paths[path], [method.toLowerCase()]: operation };
    }
    used.input.push(operation.parameters, operation.requestBody);
    used.output.push(operation.responses);
  }
  const tags = [
    ...new Set(
      Object.values(paths).flatMap((ops) =>
        Object.values(ops).flatMap((op) => (op as { tags: string[] }).tags),
      ),
    ),
  ]
    .sort()
    .map((name) => ({ name, description: TAGS[name] ?? `The ${name} of this server.` }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Airlock',
      version: options.version,
      description: description(options.mode),
      // The packages are private (package.json) and grant no license: npm's word for that, as an SPDX
      // LicenseRef. Change both where a license is chosen.
      license: { name: 'UNLICENSED', identifier: 'LicenseRef-UNLICENSED' },
    },
    servers: [{ url: '/', description: 'This server' }],
    tags,
    // Local development mode: no credential is asked for, so none is declared.
    security: options.mode === 'token' ? [{ intentToken: [] }] : [{}],
    paths,
    components: {
      schemas: componentSchemas(context.catalog, used),
      ...(options.mode === 'token' ? { securitySchemes: SECURITY_SCHEMES } : {}),
    },
  };
}
