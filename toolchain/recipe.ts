// What the toolchain builds, as data: a recipe names a Go wrapper module (its files),
// the main packages to build from it and the binaries they leave. Recipes that need
// facts only the module proxy has (a dependency's go.mod, a tag's commit) get them
// through a ModuleSource, so the decisions stay pure and are tested directly.

/** One `go build` of main packages from a wrapper module, into `<cache>/<id>/bin/`. */
export interface GoBuild {
  /** Folder under the cache and the key its stamp is kept under, e.g. `kubernetes-v1.34.2`. */
  id: string;
  /** What the progress line says. */
  title: string;
  /** Files of the wrapper module, by path relative to its folder (go.mod first of all). */
  files: Record<string, string>;
  /** Main packages, built by one `go build` so shared packages compile once. */
  packages: string[];
  /** `-ldflags` entries (version stamps). */
  ldflags: string[];
  /** Build tags, if any. */
  tags?: string[];
  /** Binaries `go build` leaves in bin/ (named after their package's folder). */
  outputs: string[];
  /** Renames after the build, e.g. etcd's `server` to `etcd`. */
  renames?: Record<string, string>;
  /** Builds with cgo (default: off, static binaries). */
  cgo?: boolean;
  /**
   * Generators to build and run, in order, before the main build, e.g. a bridged
   * provider's tfgen writing the schema its plugin embeds. Each is built from the same
   * wrapper module into `<cache>/<id>/prepare/` and run with the module folder as cwd.
   */
  prepare?: PrepareStep[];
}

/** One generator run before a GoBuild's main build. */
export interface PrepareStep {
  /** What the progress line says. */
  title: string;
  /** The generator's main package. */
  package: string;
  /** `-ldflags` entries for the generator (version stamps it writes into what it generates). */
  ldflags?: string[];
  /** Arguments to the generator (its binary is named after the package's last element). */
  args: string[];
  /** Files (relative to the module folder) the step must leave; checked after it runs. */
  produces: string[];
}

/** A C program compiled from a file inside a downloaded module (e.g. Kubernetes' pause). */
export interface CBuild {
  id: string;
  title: string;
  /** Module and version whose extracted source holds the file. */
  module: string;
  version: string;
  /** Path of the C file inside the module. */
  source: string;
  /** `-D` definitions and other compiler flags. */
  cflags: string[];
  output: string;
}

export type Build = ({ kind: "go" } & GoBuild) | ({ kind: "c" } & CBuild);

/** Read access to the Go module proxy, through the toolchain's own module cache. */
export interface ModuleSource {
  /** The go.mod of `module@version`, as published. */
  goMod(module: string, version: string): Promise<string>;
  /** A file inside the extracted module `module@version`. */
  file(module: string, version: string, path: string): Promise<string>;
  /** When a version was published (its origin commit's time). */
  time(module: string, version: string): Promise<string>;
  /** The VCS commit a version was made from, when the proxy records it. */
  commit(module: string, version: string): Promise<string | undefined>;
  /** The pseudo-version the proxy gives `module` at `commit` (for modules that are not tagged). */
  pseudoVersion(module: string, commit: string): Promise<string>;
  /** Every published version of `module`. */
  versions(module: string): Promise<string[]>;
}

/** Something the toolchain builds: it may ask the proxy first, then says exactly what to build. */
export interface Recipe {
  /** Short name for `--only`, e.g. `kubernetes`. */
  name: string;
  resolve(src: ModuleSource): Promise<Build[]>;
  /**
   * Appended to the name of every tool it records (e.g. `@v1.35.4`): a second release of
   * the same programs beside the default one, found by that name.
   */
  toolSuffix?: string;
}

/** The `require`/`replace` lines and the `godebug` line of a go.mod, read without Go. */
export interface GoModFacts {
  module: string;
  go?: string;
  godebug: string[];
  requires: Array<{ path: string; version: string }>;
  /** Replaces, with `to` being a local path (starts with . or /) or `path version`. */
  replaces: Array<{ from: string; fromVersion?: string; to: string; toVersion?: string }>;
}

/** Parses the parts of a go.mod the recipes need (both single-line and block forms). */
export function parseGoMod(text: string): GoModFacts {
  const facts: GoModFacts = { module: "", godebug: [], requires: [], replaces: [] };
  let block: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (!line) continue;
    if (block) {
      if (line === ")") {
        block = undefined;
        continue;
      }
      directive(block, line);
      continue;
    }
    const m = /^(\w+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, verb, rest] = m;
    if (rest === "(") block = verb;
    else directive(verb, rest);
  }
  return facts;

  function directive(verb: string, rest: string) {
    const words = rest.split(/\s+/).filter(Boolean);
    if (verb === "module") facts.module = words[0];
    else if (verb === "go") facts.go = words[0];
    else if (verb === "godebug") facts.godebug.push(rest);
    else if (verb === "require") facts.requires.push({ path: words[0], version: words[1] });
    else if (verb === "replace") {
      const arrow = words.indexOf("=>");
      const left = words.slice(0, arrow);
      const right = words.slice(arrow + 1);
      facts.replaces.push({ from: left[0], fromVersion: left[1], to: right[0], toVersion: right[1] });
    }
  }
}

/** True for a replace that points into the module's own tree (not usable from a wrapper). */
export const isLocalReplace = (r: GoModFacts["replaces"][number]) => r.to.startsWith(".") || r.to.startsWith("/");

/** A go.mod for a wrapper module. */
export function wrapperGoMod(args: {
  module: string;
  go: string;
  godebug?: string[];
  requires: Array<{ path: string; version: string }>;
  replaces?: Array<{ from: string; fromVersion?: string; to: string; toVersion?: string }>;
}): string {
  const lines = [`// Generated by the kubeadm-ha toolchain: builds upstream programs from their published modules.`, `module ${args.module}`, "", `go ${args.go}`, ""];
  for (const d of args.godebug ?? []) lines.push(`godebug ${d}`);
  if (args.godebug?.length) lines.push("");
  lines.push("require (", ...args.requires.map((r) => `\t${r.path} ${r.version}`), ")");
  if (args.replaces?.length) {
    lines.push("", "replace (");
    for (const r of args.replaces) lines.push(`\t${[r.from, r.fromVersion].filter(Boolean).join(" ")} => ${[r.to, r.toVersion].filter(Boolean).join(" ")}`);
    lines.push(")");
  }
  return lines.join("\n") + "\n";
}
