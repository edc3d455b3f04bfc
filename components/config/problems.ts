// A problem with the stack config and the words of its message: the key it names, the bad
// value quoted (never a secret's), the fix. Shared by the validation of clusters, platforms
// and federations. Pure: no Pulumi imports.
import { FIX_HINTS, SECRET_KEYS } from "./schema";

/** One problem with the stack config. */
export interface ConfigProblem {
  /** Full key, e.g. `kubeadm-ha:network.podCidr`. */
  key: string;
  /** What is wrong, quoting the bad value. */
  message: string;
  /** What to write instead. */
  fix: string;
}

export class ConfigError extends Error {
  constructor(public readonly problems: ConfigProblem[]) {
    super(
      `invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was created:\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}. Fix: ${p.fix}.`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

export function valueAt(obj: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = obj;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p as string];
  }
  return v;
}

export function show(v: unknown, path: ReadonlyArray<PropertyKey> = []): string {
  const key = path
    .filter((p) => typeof p !== "number")
    .map(String)
    .join(".");
  if (v !== undefined && SECRET_KEYS.some((k) => key === k || key.startsWith(`${k}.`) || k.startsWith(`${key}.`))) return "[secret]";
  return v === undefined ? "(missing)" : JSON.stringify(v);
}

/**
 * An unknown key's value that may be a secret under a misspelt name: key material, or the
 * value of a key that is a few letters away from a secret key beside it.
 */
export function mayBeSecret(path: ReadonlyArray<PropertyKey>, value: unknown): boolean {
  if (typeof value === "string" && /PRIVATE KEY/.test(value)) return true;
  const names = path.filter((p) => typeof p !== "number").map(String);
  const parent = names.slice(0, -1).join(".");
  const name = names[names.length - 1] ?? "";
  return SECRET_KEYS.some((k) => {
    const at = k.lastIndexOf(".");
    return (at < 0 ? "" : k.slice(0, at)) === parent && editDistance(k.slice(at + 1).toLowerCase(), name.toLowerCase()) <= 3;
  });
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The fix for a bad key: the most specific of `hints` for its path without list indices (`a.b.c`, then `a.b`, then `a`). */
export function hintFor(hints: Record<string, string>, path: ReadonlyArray<PropertyKey>, fallback: string): string {
  const names = path.filter((p) => typeof p !== "number").map(String);
  for (let n = names.length; n > 0; n--) {
    const h = hints[names.slice(0, n).join(".")];
    if (h !== undefined) return h;
  }
  return fallback;
}

export function hint(path: ReadonlyArray<PropertyKey>): string {
  return hintFor(FIX_HINTS, path, "see the config reference in README.md");
}

export type Add = (path: PropertyKey[], message: string, fix?: string) => void;

/** Whether the stack file gives a key itself (not a default). */
export function given(raw: Record<string, unknown>, path: ReadonlyArray<PropertyKey>): boolean {
  return valueAt(raw, path) !== undefined;
}

/** Adds a problem where the stack gives `path` itself, quoting its value: a key that does not apply. */
export type Refuse = (path: Array<string | number>, why: string, fix: string) => void;

/** The Refuse of `raw` that adds its problems through `add`. */
export function refuserOf(raw: Record<string, unknown>, add: Add): Refuse {
  return (path, why, fix) => {
    if (given(raw, path)) add(path, `${show(valueAt(raw, path), path)}: ${why}`, fix);
  };
}
