// Every key a stack file can set, read off the schema through zod's JSON Schema export:
// the config reference in README and the every-key check (test/config-applies.ts) both
// list them this way. Pure: no Pulumi imports.
import { z } from "zod";

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; items?: JsonSchema; default?: unknown };

/**
 * The keys of an object schema, as a stack file nests them: `a.b`, and for a list of
 * objects the list and its items' keys (`nodePools`, `nodePools[].taints[].effect`). A key
 * whose value is a map or a scalar is a leaf.
 */
export function schemaKeys(schema: z.ZodType): string[] {
  return keysWithSchemas(schema).map(([key]) => key);
}

/** The defaults the schema gives its leaf keys (those it gives one), by key as schemaKeys names them. */
export function schemaDefaults(schema: z.ZodType): Record<string, unknown> {
  return Object.fromEntries(keysWithSchemas(schema).flatMap(([key, s]) => ("default" in s ? [[key, s.default]] : [])));
}

function keysWithSchemas(schema: z.ZodType): Array<[string, JsonSchema]> {
  const walk = (s: JsonSchema, key: string): Array<[string, JsonSchema]> => {
    const at = (k: string) => (key ? `${key}.${k}` : k);
    if (s.properties) return Object.entries(s.properties).flatMap(([k, v]) => walk(v, at(k)));
    if (s.type === "array" && s.items?.properties) return [[key, s], ...walk(s.items, `${key}[]`)];
    return [[key, s]];
  };
  return walk(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema, "");
}
