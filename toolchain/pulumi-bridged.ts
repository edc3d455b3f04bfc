// Resource plugins bridged from Terraform (tls, random): the Pulumi provider modules are not
// served by the module proxy, so each is built here from the real Terraform provider and the
// real pulumi-terraform-bridge, with a shim module and a name mapping of ours. Pure decisions,
// tested in test/toolchain-pulumi.test.ts; the recipe that runs them is in pulumi.ts.
import { Build, parseGoMod, wrapperGoMod } from "./recipe";
import { maxGo, nonLocalReplaces, PULUMI_PKG, PULUMI_SDK, releaseTag } from "./pulumi-release";

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
  if (!p)
    throw new Error(
      `toolchain/pulumi.ts knows no Terraform provider and bridge version for pulumi-resource-${name} ${v}: add them to BRIDGED (the lockfile asks for @pulumi/${name} ${v})`,
    );
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
