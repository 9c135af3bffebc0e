// JSON Schemas of the tools in the most portable spelling: zod's `type: ["string", "null"]` for a nullable
// field becomes `anyOf: [{type: "string", …}, {type: "null"}]`, which hosts that map tool schemas onto a
// single-`type` dialect (the OpenAPI subset of some model providers) accept. Same meaning; never drops a
// constraint.

type Json = unknown;

export function portableJsonSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(portableJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = portableJsonSchema(value);
  const type = out.type;
  if (Array.isArray(type) && type.length > 1) {
    const { type: _types, ...rest } = out;
    const nonNull = type.filter((t) => t !== 'null');
    const branches: Json[] = nonNull.map((t) => ({ ...rest, type: t }));
    if (nonNull.length < type.length) branches.push({ type: 'null' });
    return { anyOf: branches };
  }
  return out;
}
