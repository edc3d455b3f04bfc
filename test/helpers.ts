// Shared fixture: one offline render of a stack per test process (the SDK keeps one runtime per process).
import { join } from "path";
import assert from "node:assert/strict";
import { renderStack, RenderResult, RenderedResource } from "../render/render";
import { ConfigError, ConfigProblem } from "../components/config/validate";

export const ROOT = join(__dirname, "..");

let cached: Promise<RenderResult> | undefined;
export function renderOnce(stack = "gcp-three-zone"): Promise<RenderResult> {
  cached ??= renderStack(ROOT, stack);
  return cached;
}

export const ofType = (r: RenderResult, type: string) => r.resources.filter((x) => x.type === type);
export const inputs = (x: RenderedResource) => x.inputs as Record<string, any>;
export const named = (r: RenderResult, name: string) => {
  const found = r.resources.find((x) => x.name === name);
  if (!found) throw new Error(`no resource named ${name}`);
  return found;
};
export const file = (r: RenderResult, path: string) => {
  const f = r.files.find((x) => x.path === path);
  if (!f) throw new Error(`no rendered file ${path}`);
  return f.content;
};

/** The problems of the ConfigError `f` throws; fails the test when it throws none. */
export function problemsOf(f: () => unknown): ConfigProblem[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  assert.fail("expected the config to be rejected");
}
