// The Pulumi engine the hosts-you-own stacks run on, built from published Go modules:
// the CLI (pkg/v3), a Node.js language host and the resource plugins the lockfile's
// SDKs ask for (command, tls, random). Every decision is a pure function of the
// upstream go.mod texts and versions, tested in test/toolchain-pulumi.test.ts.
import { Build, GoModFacts, isLocalReplace, ModuleSource, parseGoMod, Recipe, wrapperGoMod } from "./recipe";

export const PULUMI_PKG = "github.com/pulumi/pulumi/pkg/v3";
export const PULUMI_SDK = "github.com/pulumi/pulumi/sdk/v3";
/** The package whose `Version` variable `pulumi version` and every plugin's GetPluginInfo print. */
export const PULUMI_VERSION_VAR = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version";

/** `3.270.0` or `v3.270.0` → `v3.270.0`; refuses anything that is not a release. */
export function releaseTag(version: string): string {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version.trim());
  if (!m) throw new Error(`not a release version: ${JSON.stringify(version)} (expected e.g. 3.270.0)`);
  return `v${m[1]}.${m[2]}.${m[3]}`;
}

/**
 * The replaces a wrapper must repeat: a dependency's replace lines are ignored by Go,
 * so every non-local one is copied; local ones (`../sdk`, `./shim`) are dropped here and
 * handled by the caller (a published module at the same version, or a local stand-in).
 */
export const nonLocalReplaces = (mod: GoModFacts): GoModFacts["replaces"] => mod.replaces.filter((r) => !isLocalReplace(r));

/** The `go` line a wrapper needs: the highest of the modules it builds. */
export function maxGo(...versions: Array<string | undefined>): string {
  const known = versions.filter((v): v is string => !!v);
  if (!known.length) return "1.24";
  const key = (v: string) => v.split(".").map((n) => n.padStart(4, "0")).join(".");
  return known.reduce((a, b) => (key(b) > key(a) ? b : a));
}

/** `-X` stamps of the Pulumi version variable (the CLI and the language host both read it). */
export const pulumiVersionLdflags = (version: string) => [`-X ${PULUMI_VERSION_VAR}=${releaseTag(version)}`];

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
 * PULUMI_NODEJS_TYPESCRIPT from the runtime options) and reports the SDK's version. It
 * leaves out what the real host adds around that: the monitor proxy and the synchronous
 * invoke pipes (--sync), npm installs, plugin discovery from package.json (the engine
 * then loads each provider at the version the SDK registers it with), and `pulumi about`.
 */
export const LANGUAGE_HOST_STANDIN_GO = `// Generated by the kubeadm-ha toolchain (toolchain/pulumi.ts): a stand-in for the Node.js
// language host, whose module the Go module proxy does not serve. It runs a program the way
// pulumi-language-nodejs does: node <@pulumi/pulumi>/cmd/run --monitor ... <entry point>.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The exit code @pulumi/pulumi/cmd/run uses after it has shown the user an actionable message.
const exitAfterUserMessage = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engine string
}

func main() {
	h := &host{}
	// The engine passes its address as the last positional argument (flags may come first).
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			h.engine = a
		}
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engine = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) InstallDependencies(*pulumirpc.InstallDependenciesRequest, pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	return nil
}

func (h *host) GetProgramDependencies(context.Context, *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimPrefix(strings.TrimSpace(string(out)), "v")}, nil
}

// locateRun finds @pulumi/pulumi/cmd/run from the program's folder upwards, as Node would.
func locateRun(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", "run")
		if _, err := os.Stat(filepath.Join(p, "index.js")); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no node_modules/@pulumi/pulumi/cmd/run above %s: run npm install", dir)
		}
	}
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := info.GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath, err := locateRun(dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	opts := map[string]interface{}{}
	if info.GetOptions() != nil {
		opts = info.GetOptions().AsMap()
	}
	var args []string
	if s, ok := opts["nodeargs"].(string); ok {
		args = append(args, strings.Fields(s)...)
	}
	args = append(args, runPath)
	flag := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", h.engine)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("stack", req.GetStack())
	flag("pwd", dir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("query-mode", strconv.FormatBool(req.GetQueryMode()))
	flag("parallel", strconv.Itoa(int(req.GetParallel())))
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	// Config keys as the SDK reads them: <namespace>:config:<name>.
	cfg := map[string]string{}
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return &pulumirpc.RunResponse{Error: err.Error()}, nil
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "PULUMI_CONFIG="+string(cfgJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON))
	if ts, ok := opts["typescript"].(bool); !ok || ts {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if p, ok := opts["tsconfig"].(string); ok && p != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+p)
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = env
	// Node may switch its stdio to non-blocking mode: copy through pipes, never share our files.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if exit.ExitCode() == exitAfterUserMessage {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: "Problem executing program (could not run node): " + err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}
`;

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
  return {
    kind: "go",
    id: `pulumi-language-nodejs-standin-${v}`,
    title: `Pulumi Node.js language host ${v} (stand-in: ${LANGUAGE_NODEJS_MODULE} is not served by the module proxy)`,
    files: {
      "go.mod": wrapperGoMod({
        module: "kubeadm-ha.toolchain/pulumi-language-nodejs",
        go: sdk.go ?? "1.24",
        requires: [{ path: PULUMI_SDK, version: v }],
        // The SDK's own replaces (e.g. golang.org/x/text) hold for a program built against it.
        replaces: nonLocalReplaces(sdk),
      }),
      "pulumi-language-nodejs/main.go": LANGUAGE_HOST_STANDIN_GO,
    },
    packages: ["kubeadm-ha.toolchain/pulumi-language-nodejs/pulumi-language-nodejs"],
    ldflags: pulumiVersionLdflags(v),
    outputs: ["pulumi-language-nodejs"],
  };
}

// ---------------------------------------------------------------------------------
// Resource plugins bridged from Terraform (tls, random)

export const BRIDGE_MODULE = "github.com/pulumi/pulumi-terraform-bridge/v3";

/** A Terraform provider as the bridge sees it, and what stands in for the Pulumi provider module. */
export interface BridgedProvider {
  /** Pulumi package name, e.g. `tls`. */
  name: string;
  /** The Pulumi provider module (not served by the proxy at the release; see BRIDGED). */
  pulumiModule: string;
  /** Module path the Terraform provider's go.mod declares (its `internal/provider` lives under it). */
  tfModule: string;
  /** Where the proxy serves it (a fork path or the same), and at which version. */
  tfSource: { path: string; version: string };
  /** The Terraform resource prefix, e.g. `tls_`. */
  tfPrefix: string;
  /** Prefix of Pulumi type names (`Random` makes random_password `RandomPassword`). */
  typePrefix: string;
  bridge: string;
  /** ProviderInfo switches the upstream provider sets. */
  flags: string[];
}

/**
 * The bridged providers, keyed by the npm SDK version they must answer to. The upstream
 * provider modules (github.com/pulumi/pulumi-tls/provider/v5 v5.6.1,
 * github.com/pulumi/pulumi-random/provider/v4 v4.21.2, and the pseudo-version of
 * pulumi-random's sdk/v4.21.2 commit b62f810278b9) answer 403 at the module proxy; the
 * modules they are made of are served: the Terraform providers at the pseudo-versions
 * those releases pin (the proxy's own /@v/list of each has exactly one 2026 pseudo-version,
 * dated a month before the release) and the bridge. v3.137.0 (2026-08-12) is the newest
 * bridge the proxy serves whole before both releases (v3.138.0 .. v3.140.0 answer 403).
 * The wrapper puts the Terraform provider behind a local `shim` module under its own
 * module path, as upstream does (so Go's internal-package rule lets it import
 * internal/provider), maps names the way upstream's resources.go does (one `index`
 * module, standard tokens), and generates the schema with the bridge's tfgen.
 */
export const BRIDGED: Record<string, Record<string, BridgedProvider>> = {
  tls: {
    "5.6.1": {
      name: "tls",
      pulumiModule: "github.com/pulumi/pulumi-tls/provider/v5",
      tfModule: "github.com/hashicorp/terraform-provider-tls",
      tfSource: { path: "github.com/hashicorp/terraform-provider-tls", version: "v1.2.1-0.20260819085117-d044ca7c6f52" },
      tfPrefix: "tls_",
      typePrefix: "",
      bridge: "v3.137.0",
      flags: ["EnableZeroDefaultSchemaVersion"],
    },
  },
  random: {
    "4.21.2": {
      name: "random",
      pulumiModule: "github.com/pulumi/pulumi-random/provider/v4",
      tfModule: "github.com/terraform-providers/terraform-provider-random",
      tfSource: { path: "github.com/hashicorp/terraform-provider-random", version: "v1.3.2-0.20260824155315-e1092b0cfc07" },
      tfPrefix: "random_",
      typePrefix: "Random",
      bridge: "v3.137.0",
      flags: ["EnableAccurateBridgePreview", "EnableRawStateDelta"],
    },
  },
};

/** Looks a bridged provider up, with an error that says what to add. */
export function bridgedProvider(name: string, version: string): BridgedProvider {
  const v = releaseTag(version).slice(1);
  const p = BRIDGED[name]?.[v];
  if (!p) throw new Error(`toolchain/pulumi.ts knows no Terraform provider and bridge version for pulumi-resource-${name} ${v}: add them to BRIDGED (the lockfile asks for @pulumi/${name} ${v})`);
  return p;
}

/** Go package of the wrapper that holds the ProviderInfo and the version variable both binaries share. */
const wrapperModule = (p: BridgedProvider) => `kubeadm-ha.toolchain/pulumi-resource-${p.name}`;
export const bridgedVersionVar = (p: BridgedProvider) => `${wrapperModule(p)}/provider.Version`;

/** The files of a bridged provider's wrapper module: go.mod, shim, ProviderInfo, tfgen and plugin mains. */
export function bridgedFiles(p: BridgedProvider, args: { bridgeGoMod: string; tfGoMod: string; pulumiVersion: string }): Record<string, string> {
  const bridge = parseGoMod(args.bridgeGoMod);
  const tf = parseGoMod(args.tfGoMod);
  if (bridge.module !== BRIDGE_MODULE) throw new Error(`expected the go.mod of ${BRIDGE_MODULE}, got ${JSON.stringify(bridge.module)}`);
  if (tf.module !== p.tfModule) throw new Error(`${p.tfSource.path}@${p.tfSource.version} declares module ${tf.module}, expected ${p.tfModule}`);
  const framework = tf.requires.find((r) => r.path === "github.com/hashicorp/terraform-plugin-framework");
  if (!framework) throw new Error(`${p.tfModule} does not require terraform-plugin-framework: not a Plugin Framework provider`);
  const shimPath = `${p.tfModule}/shim`;
  const pv = releaseTag(args.pulumiVersion);
  const tfReplace = p.tfSource.path !== p.tfModule ? [{ from: p.tfModule, to: p.tfSource.path, toVersion: p.tfSource.version }] : [];
  const goMod = wrapperGoMod({
    module: wrapperModule(p),
    go: maxGo(bridge.go, tf.go),
    godebug: bridge.godebug,
    requires: [
      { path: BRIDGE_MODULE, version: p.bridge },
      { path: p.tfModule, version: p.tfSource.version },
      { path: shimPath, version: "v0.0.0" },
      // The same pkg/sdk as the CLI: both are served whole, and their packages compile once.
      { path: PULUMI_PKG, version: pv },
      { path: PULUMI_SDK, version: pv },
    ],
    replaces: [...nonLocalReplaces(bridge).filter((r) => r.from !== p.tfModule), ...tfReplace, { from: shimPath, to: "./shim" }],
  });
  const shimMod = wrapperGoMod({
    module: shimPath,
    go: tf.go ?? "1.24",
    requires: [
      { path: p.tfModule, version: p.tfSource.version },
      { path: framework.path, version: framework.version },
    ],
    replaces: tfReplace,
  });
  const header = `// Generated by the kubeadm-ha toolchain (toolchain/pulumi.ts): pulumi-resource-${p.name} from the\n// Terraform provider ${p.tfModule} and the bridge, as the upstream Pulumi provider wraps them.\n`;
  const shimGo = `${header}package shim

import (
	tfpf "github.com/hashicorp/terraform-plugin-framework/provider"
	"${p.tfModule}/internal/provider"
)

// NewProvider is the Terraform provider itself; the shim lives under its module path so
// Go's internal-package rule lets it reach internal/provider.
func NewProvider() tfpf.Provider { return provider.New() }
`;
  const flagLines = p.flags.map((f) => `\t\t${f}: true,\n`).join("");
  const providerGo = `${header}package provider

import (
	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"

	"${shimPath}"
)

// Version is stamped at build time (-X), as upstream stamps its pkg/version.Version.
var Version string

// Provider maps every ${p.tfPrefix}* resource and data source into one "index" module with
// standard tokens (${p.name}:index/<camelName>:<PascalName>), as the upstream provider does.
func Provider(metadata []byte) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "${p.name}",
		Version:      Version,
		GitHubOrg:    "hashicorp",
		License:      "Apache-2.0",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
${flagLines}	}
	standard := tokens.MakeStandard("${p.name}")
	info.MustComputeTokens(tokens.SingleModule("${p.tfPrefix}", "index", func(module, name string) (string, error) {
		return standard(module, "${p.typePrefix}"+name)
	}))
	return info
}
`;
  const tfgenGo = `${header}package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"${wrapperModule(p)}/provider"
)

func main() { pftfgen.Main("${p.name}", provider.Provider([]byte("{}"))) }
`;
  const pluginGo = `${header}package main

import (
	"context"
	_ "embed"
	"encoding/json"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"${wrapperModule(p)}/provider"
)

// Written by pulumi-tfgen-${p.name} before this package is compiled.
//
//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	pf.Main(context.Background(), "${p.name}", provider.Provider(metadata), pf.ProviderMetadata{PackageSchema: withVersion(schema)})
}

// tfgen leaves the version out of the schema; the plugin serves it with its own.
func withVersion(s []byte) []byte {
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(s, &spec); err != nil {
		panic(err)
	}
	v, _ := json.Marshal(provider.Version)
	spec["version"] = v
	out, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	return out
}
`;
  return {
    "go.mod": goMod,
    "shim/go.mod": shimMod,
    "shim/shim.go": shimGo,
    "provider/provider.go": providerGo,
    [`cmd/pulumi-tfgen-${p.name}/main.go`]: tfgenGo,
    [`cmd/pulumi-resource-${p.name}/main.go`]: pluginGo,
  };
}

export function bridgedBuild(args: { name: string; version: string; bridgeGoMod: string; tfGoMod: string; pulumiVersion: string }): Build {
  const p = bridgedProvider(args.name, args.version);
  const v = releaseTag(args.version).slice(1);
  const stamp = [`-X ${bridgedVersionVar(p)}=${v}`];
  const out = `cmd/pulumi-resource-${p.name}`;
  return {
    kind: "go",
    id: `pulumi-resource-${p.name}-v${v}`,
    title: `pulumi-resource-${p.name} ${v} (${p.tfSource.path}@${p.tfSource.version}, bridge ${p.bridge}; ${p.pulumiModule} is not served by the module proxy)`,
    files: bridgedFiles(p, args),
    prepare: [
      {
        title: `schema from pulumi-tfgen-${p.name}`,
        package: `${wrapperModule(p)}/cmd/pulumi-tfgen-${p.name}`,
        ldflags: stamp,
        // Examples are HCL converted by the pulumi CLI's terraform converter plugin, which is not to be had here.
        args: ["schema", "--skip-examples", "--out", out],
        // Descriptions come from the Terraform schema; tfgen warns that it finds no upstream docs folder.
        produces: [`${out}/schema.json`, `${out}/bridge-metadata.json`],
      },
    ],
    packages: [`${wrapperModule(p)}/${out}`],
    ldflags: stamp,
    outputs: [`pulumi-resource-${p.name}`],
  };
}

// ---------------------------------------------------------------------------------
// pulumi-resource-command

export const COMMAND_PROVIDER_MODULE = "github.com/pulumi/pulumi-command/provider";

/**
 * A stand-in for pulumi-resource-command: github.com/pulumi/pulumi-command/provider is not
 * served by the module proxy (v1.2.1 answers 404 for its .info and 403 for its .mod and
 * .zip; the pseudo-version of sdk/v1.2.1's commit f0839b236d7b answers 403), and it is a
 * native provider, with nothing to rebuild it from. The stand-in reports the version the
 * SDK asks for and serves what a preview needs: Check and Diff of the inputs, and Create
 * in preview (outputs the real provider computes, stdout and stderr, stay unknown). It
 * refuses to run any command (create/update outside preview), so `pulumi up` of a
 * remote.Command fails loudly instead of pretending.
 */
export const COMMAND_STANDIN_GO = `// Generated by the kubeadm-ha toolchain (toolchain/pulumi.ts): a preview-only stand-in for
// pulumi-resource-command, whose module the Go module proxy does not serve.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Version is stamped at build time (-X): the version @pulumi/command registers resources with.
var Version string

// The engine's marker for a value not known until the resource is really created.
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

type standin struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func main() {
	if err := provider.Main("command", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &standin{}, nil
	}); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\\n", err)
		os.Exit(1)
	}
}

func refuse(what, urn string) error {
	return fmt.Errorf("pulumi-resource-command %s here is a preview-only stand-in (github.com/pulumi/pulumi-command/provider is not served by the Go module proxy): it does not %s %s", Version, what, urn)
}

func (s *standin) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (s *standin) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf("{\\"name\\":\\"command\\",\\"version\\":%q}", Version)}, nil
}

func (s *standin) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *standin) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *standin) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true, AcceptOutputs: true}, nil
}

func (s *standin) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *standin) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	old := req.GetOldInputs()
	if old == nil {
		old = req.GetOlds()
	}
	if proto.Equal(old, req.GetNews()) {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME}, nil
}

// preview: the inputs, with the outputs a command produces still unknown.
func preview(in *structpb.Struct) *structpb.Struct {
	out := proto.Clone(in).(*structpb.Struct)
	if out == nil || out.Fields == nil {
		out = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	for _, k := range []string{"stdout", "stderr"} {
		out.Fields[k] = structpb.NewStringValue(unknown)
	}
	return out
}

func (s *standin) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if !req.GetPreview() {
		return nil, refuse("run", req.GetUrn())
	}
	return &pulumirpc.CreateResponse{Properties: preview(req.GetProperties())}, nil
}

func (s *standin) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if !req.GetPreview() {
		return nil, refuse("run", req.GetUrn())
	}
	return &pulumirpc.UpdateResponse{Properties: preview(req.GetNews())}, nil
}

func (s *standin) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (s *standin) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return nil, refuse("run the delete command of", req.GetUrn())
}
`;

/** `sdkVersion` is the sdk/v3 Go module it is built against (the CLI's), not the npm SDK's version. */
export function commandBuild(args: { version: string; sdkVersion: string; sdkGoMod: string }): Build {
  const v = releaseTag(args.version).slice(1);
  const sdkV = releaseTag(args.sdkVersion);
  const sdk = parseGoMod(args.sdkGoMod);
  return {
    kind: "go",
    id: `pulumi-resource-command-standin-v${v}`,
    title: `pulumi-resource-command ${v} (preview-only stand-in: ${COMMAND_PROVIDER_MODULE} is not served by the module proxy)`,
    files: {
      "go.mod": wrapperGoMod({
        module: "kubeadm-ha.toolchain/pulumi-resource-command",
        go: sdk.go ?? "1.24",
        requires: [{ path: PULUMI_SDK, version: sdkV }],
        replaces: nonLocalReplaces(sdk),
      }),
      "pulumi-resource-command/main.go": COMMAND_STANDIN_GO,
    },
    packages: ["kubeadm-ha.toolchain/pulumi-resource-command/pulumi-resource-command"],
    ldflags: [`-X main.Version=${v}`],
    outputs: ["pulumi-resource-command"],
  };
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
