// Every key a stack file can set, read off the schema through zod's JSON Schema export:
// the config reference in README and the every-key check (test/config-applies.ts) both
// list them this way. Pure: no Pulumi imports.
import { z } from "zod";

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; items?: JsonSchema };

/**
 * The keys of an object schema, as a stack file nests them: `a.b`, and for a list of
 * objects the list and its items' keys (`nodePools`, `nodePools[].taints[].effect`). A key
 * whose value is a map or a scalar is a leaf.
 */
export function schemaKeys(schema: z.ZodType): string[] {
  const walk = (s: JsonSchema, key: string): string[] => {
    const at = (k: string) => (key ? `${key}.${k}` : k);
    if (s.properties) return Object.entries(s.properties).flatMap(([k, v]) => walk(v, at(k)));
    if (s.type === "array" && s.items?.properties) return [key, ...walk(s.items, `${key}[]`)];
    return [key];
  };
  return walk(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema, "");
}
