// The Pulumi engine the hosts-you-own stacks run on, built from published Go modules:
// the CLI (pkg/v3), a Node.js language host and the resource plugins the lockfile's
// SDKs ask for (command, tls, random). Every decision is a pure function of the
// upstream go.mod texts and versions, tested in test/toolchain-pulumi.test.ts.
import { readFileSync } from "fs";
import { join } from "path";
import { Build, isLocalReplace, ModuleSource, parseGoMod, Recipe, wrapperGoMod } from "./recipe";
import { maxGo, nonLocalReplaces, PULUMI_PKG, PULUMI_SDK, pulumiVersionLdflags, releaseTag } from "./pulumi-release";
import { BRIDGE_MODULE, bridgedBuild, bridgedProvider } from "./pulumi-bridged";

export * from "./pulumi-release";
export * from "./pulumi-bridged";

// ---------------------------------------------------------------------------------
// The CLI

/**
 * Which pkg/v3 release the CLI is built from, for the SDK version the lockfile pins.
 * Normally the same tag. Where the module proxy this project reaches does not serve
 * pkg/v3 at that tag, a named substitute is used, and the build's title says so.
 *
 * Probed on 2026-11-23 (proxy.golang.org as this workplace reaches it): pkg/v3
 * v3.261.0 .. v3.274.0 answer 403 "This module version is not available"; v3.260.0 and
 * v3.274.1 serve their .info and .mod but not their .zip (403); v3.259.0 is served whole.
 * sdk/v3 is served at every release up to v3.274.1. So the CLI is v3.259.0: the newest
 * release the proxy serves, eleven minors older than the SDK (the Node.js SDK asks the
 * engine which features it supports, so an older engine is workable).
 */
export const CLI_SUBSTITUTES: Record<string, { version: string; why: string }> = {
  "v3.270.0": { version: "v3.259.0", why: "pkg/v3 v3.270.0 is not served by the module proxy (403); v3.259.0 is the newest release it serves whole" },
};

export function cliRelease(sdkVersion: string, published?: boolean): { version: string; substituted?: string } {
  const v = releaseTag(sdkVersion);
  if (published !== false) return { version: v };
  const sub = CLI_SUBSTITUTES[v];
  if (!sub) {
    throw new Error(
      `the module proxy does not serve ${PULUMI_PKG}@${v} (the tag of @pulumi/pulumi in package-lock.json) and toolchain/pulumi.ts names no substitute for it: pin @pulumi/pulumi to a release whose pkg/v3 module is published, or add one to CLI_SUBSTITUTES`,
    );
  }
  return { version: releaseTag(sub.version), substituted: sub.why };
}

/**
 * The CLI: a wrapper that requires pkg/v3 and sdk/v3 at the same tag (pkg/go.mod replaces
 * sdk with ../sdk, which a dependency cannot do) and repeats pkg's non-local replaces.
 */
export function pulumiCliBuild(args: { version: string; pkgGoMod: string; substituted?: string; sdkVersion?: string }): Build {
  const v = releaseTag(args.version);
  const pkg = parseGoMod(args.pkgGoMod);
  if (pkg.module !== PULUMI_PKG) throw new Error(`expected the go.mod of ${PULUMI_PKG}, got ${JSON.stringify(pkg.module)}`);
  const sdkReplace = pkg.replaces.find((r) => r.from === PULUMI_SDK);
  if (sdkReplace && !isLocalReplace(sdkReplace)) throw new Error(`pkg/v3 ${v} replaces sdk/v3 with ${sdkReplace.to}: not the ../sdk layout this recipe knows`);
  return {
    kind: "go",
    id: `pulumi-cli-${v}`,
    title: `Pulumi CLI ${v}` + (args.substituted ? ` (for @pulumi/pulumi ${args.sdkVersion}: ${args.substituted})` : ""),
    files: {
      "go.mod": wrapperGoMod({
        module: "kubeadm-ha.toolchain/pulumi-cli",
        go: pkg.go ?? "1.24",
        godebug: pkg.godebug,
        requires: [
          { path: PULUMI_PKG, version: v },
          { path: PULUMI_SDK, version: v },
        ],
        replaces: nonLocalReplaces(pkg),
      }),
    },
    packages: [`${PULUMI_PKG}/cmd/pulumi`],
    ldflags: pulumiVersionLdflags(v),
    outputs: ["pulumi"],
  };
}

/** True when an error from the module source means "this version is not published here". */
export const notPublished = (e: unknown) => /403 Forbidden|404 Not Found|410 Gone|not available|unknown revision|invalid version/.test(String((e as Error)?.message ?? e));

// ---------------------------------------------------------------------------------
// The Node.js language host

export const LANGUAGE_NODEJS_MODULE = "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3";

/**
 * The language host is its own module and is never tagged: a release is required by the
 * pseudo-version of its release commit. Keyed by the SDK version. Empty here, because no
 * pseudo-version of it is to be had: the proxy answers 403 for its /@v/list, for
 * `@v3.270.0`, `@master` and for every pseudo-version tried (v3.0.0-20260828130136-22df62fcb27a
 * and v3.0.0-20260820084410-a05d88f24d05, the commits pkg/v3 v3.260.0 and v3.259.0 were
 * tagged at, as their .info Origin says; v3.0.0-20241010194211-2d3b850b6020, which
 * pulumi-docker-build's go.mod requires); sdk/v3 v3.270.0's .info carries no Origin, and
 * no go.mod in the search index requires a 2026 pseudo-version of it. When one is found,
 * add it here and the recipe builds the published host instead of the stand-in.
 */
export const LANGUAGE_NODEJS_PSEUDO_VERSIONS: Record<string, string> = {};

/**
 * A stand-in for pulumi-language-nodejs, built against sdk/v3 at the lockfile's version:
 * it runs the program the way the real host does (node <@pulumi/pulumi>/cmd/run with
 * --monitor/--engine/--project/--stack/--pwd/--dry-run/--parallel, the config in
 * PULUMI_CONFIG with keys as `<ns>:config:<name>`, PULUMI_CONFIG_SECRET_KEYS,
 * PULUMI_NODEJS_TYPESCRIPT from the runtime options) and reports the SDK's version; it runs
 * a policy pack as the real host's RunPlugin does (node <@pulumi/pulumi>/cmd/run-policy-pack
 * <engine> <pack folder>, in the pack's folder). It leaves out what the real host adds around
 * that: the monitor proxy and the synchronous invoke pipes (--sync), npm installs, plugin
 * discovery from package.json (the engine then loads each provider at the version the SDK
 * registers it with), the policy proxy (sdk/v3's root package, which imports a module the
 * proxy refuses) that hands a pack the stack's config, and `pulumi about`.
 */
export const LANGUAGE_HOST_STANDIN_GO = readFileSync(join(__dirname, "standins/pulumi-language-nodejs/main.go"), "utf8");

/** The language host: the published module when its pseudo-version is known, else the stand-in. */
export function languageHostBuild(args: {
  sdkVersion: string;
  sdkGoMod: string;
  /** The published host's pseudo-version and go.mod, when known. */
  pseudoVersion?: string;
  hostGoMod?: string;
  /** pkg/v3 for the published host (its go.mod replaces it with ../../../../pkg): the CLI's release. */
  pkgVersion?: string;
}): Build {
  const v = releaseTag(args.sdkVersion);
  const sdk = parseGoMod(args.sdkGoMod);
  if (sdk.module !== PULUMI_SDK) throw new Error(`expected the go.mod of ${PULUMI_SDK}, got ${JSON.stringify(sdk.module)}`);
  if (args.pseudoVersion) {
    const host = args.hostGoMod ? parseGoMod(args.hostGoMod) : undefined;
    if (host && host.module !== LANGUAGE_NODEJS_MODULE) throw new Error(`expected the go.mod of ${LANGUAGE_NODEJS_MODULE}, got ${JSON.stringify(host.module)}`);
    return {
      kind: "go",
      id: `pulumi-language-nodejs-${v}`,
      title: `Pulumi Node.js language host ${v} (${LANGUAGE_NODEJS_MODULE}@${args.pseudoVersion})`,
      files: {
        "go.mod": wrapperGoMod({
          module: "kubeadm-ha.toolchain/pulumi-language-nodejs",
          go: maxGo(sdk.go, host?.go),
          requires: [
            { path: LANGUAGE_NODEJS_MODULE, version: args.pseudoVersion },
            { path: PULUMI_SDK, version: v },
            { path: PULUMI_PKG, version: releaseTag(args.pkgVersion ?? v) },
          ],
          replaces: nonLocalReplaces(host ?? sdk),
        }),
      },
      packages: [LANGUAGE_NODEJS_MODULE],
      ldflags: pulumiVersionLdflags(v),
      outputs: ["v3"],
      renames: { v3: "pulumi-language-nodejs" },
    };
  }
  return standinBuild({
    name: "pulumi-language-nodejs",
    id: `pulumi-language-nodejs-standin-${v}`,
    title: `Pulumi Node.js language host ${v} (stand-in: ${LANGUAGE_NODEJS_MODULE} is not served by the module proxy)`,
    sdkVersion: v,
    sdkGoMod: args.sdkGoMod,
    source: LANGUAGE_HOST_STANDIN_GO,
    ldflags: pulumiVersionLdflags(v),
  });
}

/**
 * A program of ours standing in for a module the proxy refuses: one main package, built
 * against sdk/v3 (whose own non-local replaces hold for a program built against it).
 */
function standinBuild(a: {
  name: string;
  id: string;
  title: string;
  sdkVersion: string;
  sdkGoMod: string;
  source: string;
  ldflags: string[];
  /** Further modules the program imports directly, at the versions sdk/v3 requires them. */
  alsoRequire?: string[];
  /** Modules the program imports that sdk/v3 does not require, at pinned versions. */
  pinned?: Array<{ path: string; version: string }>;
  /** Further files of the main package, by name (beside main.go). */
  moreSources?: Record<string, string>;
}): Build {
  const sdk = parseGoMod(a.sdkGoMod);
  const also = (a.alsoRequire ?? []).map((path) => {
    const r = sdk.requires.find((x) => x.path === path);
    if (!r) throw new Error(`sdk/v3 ${a.sdkVersion} does not require ${path}, which ${a.name} imports: pin a version for it in toolchain/pulumi.ts`);
    return r;
  });
  return {
    kind: "go",
    id: a.id,
    title: a.title,
    files: {
      "go.mod": wrapperGoMod({
        module: `kubeadm-ha.toolchain/${a.name}`,
        go: sdk.go ?? "1.24",
        requires: [{ path: PULUMI_SDK, version: a.sdkVersion }, ...also, ...(a.pinned ?? [])],
        replaces: nonLocalReplaces(sdk),
      }),
      [`${a.name}/main.go`]: a.source,
      ...Object.fromEntries(Object.entries(a.moreSources ?? {}).map(([f, text]) => [`${a.name}/${f}`, text])),
    },
    packages: [`kubeadm-ha.toolchain/${a.name}/${a.name}`],
    ldflags: a.ldflags,
    outputs: [a.name],
  };
}

// ---------------------------------------------------------------------------------
// pulumi-resource-command

export const COMMAND_PROVIDER_MODULE = "github.com/pulumi/pulumi-command/provider";
/** The SSH client our command plugin uses (ssh, ssh/agent); sdk/v3 already requires it. */
export const COMMAND_SSH_MODULE = "golang.org/x/crypto";
/**
 * The SFTP client CopyToRemote copies with, as upstream's does. sdk/v3 does not require it,
 * and the proxy refuses pulumi-command/provider's go.mod, so upstream's exact pin is not to
 * be read: v1.13.10 (2025-10-22) is the newest release published before pulumi-command
 * v1.2.1 was tagged (2026-03-04, sdk/v1.2.1's .info), and its go.mod asks for no newer
 * x/crypto than sdk/v3 v3.259.0 does (v0.41.0 against v0.54.0).
 */
export const COMMAND_SFTP_MODULE = { path: "github.com/pkg/sftp", version: "v1.13.10" };

/**
 * Our implementation of pulumi-command's remote.Command protocol, at the version
 * @pulumi/command registers (1.2.1): github.com/pulumi/pulumi-command/provider is not served
 * by the module proxy (v1.2.1 answers 404 for its .info and 403 for its .mod and .zip; the
 * pseudo-version of sdk/v1.2.1's commit f0839b236d7b answers 403), nor is
 * github.com/pulumi/pulumi-go-provider it is built on, and it is a native provider, with
 * nothing to rebuild it from. Ours serves command:remote:Command (the only command resource
 * this program uses) with the real provider's semantics, read from its source and cited in
 * the file: Check with its defaults, Diff (triggers replace, other changes update), Create,
 * Update and Delete running the commands over SSH (golang.org/x/crypto/ssh, at the version
 * sdk/v3 requires) with dial retries and the proxy, secrets kept secret, output streamed to
 * the engine as `logging` says, unknown stdout/stderr in previews. It also serves
 * command:remote:CopyToRemote (copy.go): a FileAsset, StringAsset or FileArchive copied over
 * SFTP (github.com/pkg/sftp) where upstream puts it, streamed, again only when the source's
 * hash or remotePath changes, never deleted. Where either differs on purpose, the file's
 * header says.
 */
export const COMMAND_STANDIN_GO = readFileSync(join(__dirname, "standins/pulumi-resource-command/main.go"), "utf8");
export const COMMAND_STANDIN_COPY_GO = readFileSync(join(__dirname, "standins/pulumi-resource-command/copy.go"), "utf8");

/** `sdkVersion` is the sdk/v3 Go module it is built against (the CLI's), not the npm SDK's version. */
export function commandBuild(args: { version: string; sdkVersion: string; sdkGoMod: string }): Build {
  const v = releaseTag(args.version).slice(1);
  return standinBuild({
    name: "pulumi-resource-command",
    id: `pulumi-resource-command-ours-v${v}`,
    title: `pulumi-resource-command ${v} (our implementation of pulumi-command ${v}'s remote.Command protocol, with remote.CopyToRemote: the module proxy refuses ${COMMAND_PROVIDER_MODULE})`,
    sdkVersion: releaseTag(args.sdkVersion),
    sdkGoMod: args.sdkGoMod,
    source: COMMAND_STANDIN_GO,
    moreSources: { "copy.go": COMMAND_STANDIN_COPY_GO },
    ldflags: [`-X main.Version=${v}`],
    alsoRequire: [COMMAND_SSH_MODULE],
    pinned: [COMMAND_SFTP_MODULE],
  });
}

/** What the engine tests install: plugin name → version, from the lockfile. */
export function pluginVersions(versions: Record<string, string>): Record<"command" | "tls" | "random", string> {
  const get = (pkg: string) => {
    const v = versions[pkg];
    if (!v) throw new Error(`no ${pkg} version to build its plugin for`);
    return releaseTag(v).slice(1);
  };
  return { command: get("@pulumi/command"), tls: get("@pulumi/tls"), random: get("@pulumi/random") };
}

export function pulumiRecipes(versions: Record<string, string>): Recipe[] {
  const sdk = versions["@pulumi/pulumi"];
  if (!sdk) throw new Error("no @pulumi/pulumi version to build the Pulumi engine for");
  const want = releaseTag(sdk);
  const plugins = pluginVersions(versions);
  /** The CLI's pkg/v3 release (the lockfile's, or its named substitute). */
  const cli = async (src: ModuleSource) => {
    try {
      return { ...cliRelease(want, true), goMod: await src.goMod(PULUMI_PKG, want) };
    } catch (e) {
      if (!notPublished(e)) throw e;
      const rel = cliRelease(want, false);
      return { ...rel, goMod: await src.goMod(PULUMI_PKG, rel.version) };
    }
  };
  const bridged = (name: "tls" | "random"): Recipe => ({
    name: `pulumi-resource-${name}`,
    resolve: async (src) => {
      const p = bridgedProvider(name, plugins[name]);
      const rel = await cli(src);
      return [
        bridgedBuild({
          name,
          version: plugins[name],
          bridgeGoMod: await src.goMod(BRIDGE_MODULE, p.bridge),
          tfGoMod: await src.goMod(p.tfSource.path, p.tfSource.version),
          pulumiVersion: rel.version,
        }),
      ];
    },
  });
  return [
    {
      name: "pulumi-cli",
      resolve: async (src) => {
        const rel = await cli(src);
        return [pulumiCliBuild({ version: rel.version, pkgGoMod: rel.goMod, substituted: rel.substituted, sdkVersion: want })];
      },
    },
    {
      name: "pulumi-language-nodejs",
      resolve: async (src) => {
        const pseudoVersion = LANGUAGE_NODEJS_PSEUDO_VERSIONS[want];
        const sdkGoMod = await src.goMod(PULUMI_SDK, want);
        if (!pseudoVersion) return [languageHostBuild({ sdkVersion: want, sdkGoMod })];
        const hostGoMod = await src.goMod(LANGUAGE_NODEJS_MODULE, pseudoVersion);
        return [languageHostBuild({ sdkVersion: want, sdkGoMod, pseudoVersion, hostGoMod, pkgVersion: (await cli(src)).version })];
      },
    },
    {
      name: "pulumi-resource-command",
      // Against the CLI's sdk/v3: sdk/v3 v3.270.0's provider packages need modules the proxy
      // does not serve (github.com/pulumi/pulumi-cloud-sdk/go v1.20260918.0 and
      // github.com/go-git/go-git/v6 v6.0.0-beta.1 answer 403), v3.259.0's are all served.
      resolve: async (src) => {
        const rel = await cli(src);
        return [commandBuild({ version: plugins.command, sdkVersion: rel.version, sdkGoMod: await src.goMod(PULUMI_SDK, rel.version) })];
      },
    },
    bridged("tls"),
    bridged("random"),
  ];
}
