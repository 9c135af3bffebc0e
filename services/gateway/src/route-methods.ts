// Which methods the gateway serves on a path, for a 405 with `Allow` when a known route is asked with a wrong
// method (a 404 there would say the route does not exist). Learns the routes as they are registered; matches a
// concrete path against their patterns (`:id` is one segment, `*` the rest). Never answers for a path that no
// route serves.

import type { FastifyInstance } from 'fastify';

interface RoutePattern {
  segments: string[];
  methods: Set<string>;
}

export class RouteMethods {
  readonly #patterns = new Map<string, RoutePattern>();

  /** Records every route registered from now on; call before the routes are registered. */
  learnFrom(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const url = route.url ?? route.path;
      if (typeof url !== 'string') return;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const known = this.#patterns.get(url) ?? { segments: url.split('/'), methods: new Set<string>() };
      for (const method of methods) known.methods.add(String(method).toUpperCase());
      this.#patterns.set(url, known);
    });
  }

  /** The methods some route serves on `path` (query excluded), sorted; empty when none does. */
  allowed(path: string): string[] {
    const segments = path.split('?')[0]!.split('/');
    const methods = new Set<string>();
    for (const pattern of this.#patterns.values()) {
      if (matches(pattern.segments, segments)) for (const method of pattern.methods) methods.add(method);
    }
    return [...methods].sort();
  }
}

function matches(pattern: string[], path: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    if (want === '*') return true;
    const got = path[i];
    if (got === undefined) return false;
    if (want.startsWith(':')) {
      if (got === '') return false;
      continue;
    }
    if (want !== got) return false;
  }
  return pattern.length === path.length;
}
