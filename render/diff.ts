// The difference between two offline renders of a stack (base and head of a pull
// request): resources added, removed and changed (with the input paths that
// changed), and machine files as unified diffs. Secrets are "[secret]" on both sides
// already, so nothing here can reveal one. Pure apart from reading the two render
// directories; unified diffs by jsdiff (the diff package).
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from "diff";
import type { RenderedResource } from "./render";
import { filesUnder } from "./files";

export interface ResourceChange {
  urn: string;
  type: string;
  name: string;
  /** Input (and option) paths whose values differ, e.g. `metadata.user-data`, `options.ignoreChanges`. */
  paths: string[];
}

export interface FileChange {
  /** `<machine>/<path>` under files/. */
  path: string;
  kind: "added" | "removed" | "changed";
  /** Unified diff (base -> head). */
  diff: string;
}

export interface StackDiff {
  stack: string;
  added: RenderedResource[];
  removed: RenderedResource[];
  changed: ResourceChange[];
  files: FileChange[];
}

/** Paths (a.b[0].c) where `a` and `b` differ; a whole subtree that appears or goes is one path. */
export function changedPaths(a: unknown, b: unknown, path = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown) => !!v && typeof v === "object";
  if (!isObj(a) || !isObj(b) || Array.isArray(a) !== Array.isArray(b)) return [path || "(whole value)"];
  const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
  return keys.flatMap((k) => {
    const sub = Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
    return changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], sub);
  });
}

/** Unified diff of two files (either may be absent), labelled base/ and head/, as diff -u writes it; "" when they are the same. */
function unifiedDiff(baseFile: string | undefined, headFile: string | undefined, label: string): string {
  const base = baseFile ? readFileSync(baseFile) : Buffer.alloc(0);
  const head = headFile ? readFileSync(headFile) : Buffer.alloc(0);
  if (base.equals(head)) return "";
  if (base.includes(0) || head.includes(0)) return `Binary files base/${label} and head/${label} differ\n`;
  return createTwoFilesPatch(`base/${label}`, `head/${label}`, base.toString("utf8"), head.toString("utf8"), undefined, undefined, { headerOptions: FILE_HEADERS_ONLY });
}

const readResources = (dir: string): RenderedResource[] => (existsSync(join(dir, "resources.json")) ? JSON.parse(readFileSync(join(dir, "resources.json"), "utf8")) : []);

/**
 * Compares two render directories (render/cli.ts --out). A missing side (a stack
 * added or removed by the change) counts as an empty render.
 */
export function diffRenders(stack: string, baseDir: string | undefined, headDir: string | undefined): StackDiff {
  const base = baseDir ? readResources(baseDir) : [];
  const head = headDir ? readResources(headDir) : [];
  const baseBy = new Map(base.map((r) => [r.urn, r]));
  const headBy = new Map(head.map((r) => [r.urn, r]));
  const view = (r: RenderedResource) => ({
    inputs: r.inputs,
    options: r.options,
    parent: r.parent,
    dependencies: r.dependencies,
    ...(r.outputs === undefined ? {} : { outputs: r.outputs }),
  });
  const changed: ResourceChange[] = [];
  for (const r of head) {
    const b = baseBy.get(r.urn);
    if (!b) continue;
    const paths = changedPaths(view(b), view(r)).map((p) => p.replace(/^inputs\./, ""));
    if (paths.length) changed.push({ urn: r.urn, type: r.type, name: r.name, paths });
  }
  const filesOf = (dir: string | undefined) => (dir ? filesUnder(join(dir, "files")) : []);
  const baseFiles = new Set(filesOf(baseDir));
  const headFiles = new Set(filesOf(headDir));
  const files: FileChange[] = [];
  for (const f of [...new Set([...baseFiles, ...headFiles])].sort()) {
    const inBase = baseFiles.has(f) ? join(baseDir!, "files", f) : undefined;
    const inHead = headFiles.has(f) ? join(headDir!, "files", f) : undefined;
    const diff = unifiedDiff(inBase, inHead, f);
    if (diff) files.push({ path: f, kind: !inBase ? "added" : !inHead ? "removed" : "changed", diff });
  }
  return {
    stack,
    added: head.filter((r) => !baseBy.has(r.urn)),
    removed: base.filter((r) => !headBy.has(r.urn)),
    changed,
    files,
  };
}

export const isEmpty = (d: StackDiff) => !d.added.length && !d.removed.length && !d.changed.length && !d.files.length;

/** The diffs as Markdown (a PR comment) or plain text (a terminal). */
export function formatDiffs(diffs: StackDiff[], format: "markdown" | "text", title = "Offline render difference"): string {
  const changedStacks = diffs.filter((d) => !isEmpty(d));
  const md = format === "markdown";
  const out: string[] = [md ? `## ${title}` : title, ""];
  if (!changedStacks.length) {
    out.push(`no changes (${diffs.length} stack${diffs.length === 1 ? "" : "s"} rendered: ${diffs.map((d) => d.stack).join(", ")})`);
    return out.join("\n") + "\n";
  }
  const label = (r: { type: string; name: string }) => (md ? `\`${r.type}\` **${r.name}**` : `${r.type} ${r.name}`);
  for (const d of diffs) {
    if (isEmpty(d)) {
      out.push(md ? `### ${d.stack}: no changes` : `== ${d.stack}: no changes`, "");
      continue;
    }
    out.push(md ? `### ${d.stack}` : `== ${d.stack}`, "");
    out.push(
      `${d.added.length} to add, ${d.changed.length} to change, ${d.removed.length} to remove; ${d.files.length} machine file${d.files.length === 1 ? "" : "s"} changed`,
      "",
    );
    for (const r of d.added) out.push(`${md ? "- " : ""}+ ${label(r)}`);
    for (const r of d.removed) out.push(`${md ? "- " : ""}- ${label(r)}`);
    for (const c of d.changed) out.push(`${md ? "- " : ""}~ ${label(c)}: ${c.paths.map((p) => (md ? `\`${p}\`` : p)).join(", ")}`);
    if (d.added.length || d.removed.length || d.changed.length) out.push("");
    for (const f of d.files) {
      if (md) out.push(`<details><summary>${f.kind}: <code>${f.path}</code></summary>`, "", "````diff", f.diff.trimEnd(), "````", "</details>", "");
      else out.push(`--- ${f.kind}: ${f.path}`, f.diff.trimEnd(), "");
    }
  }
  return out.join("\n") + "\n";
}
