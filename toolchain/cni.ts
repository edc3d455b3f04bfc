// The standard CNI plugins (bridge, host-local, loopback, portmap, ...), built from
// their published module at a pinned release, static, in one `go build`, with the
// version stamp upstream's release build sets. The air-gapped bundle ships them in
// cni/bin/; a lab can point a CNI config at the build's bin/ folder directly, since
// the binaries keep upstream's names there.
import { Build, parseGoMod, Recipe, wrapperGoMod } from "./recipe";

export const CNI_PLUGINS_MODULE = "github.com/containernetworking/plugins";

/**
 * The pinned release. Probed on the module proxy: it serves v0.8.6 .. v1.9.1, v1.9.1 the
 * newest (published 2026-02-19), whole (.info, .mod and .zip).
 */
export const CNI_PLUGINS_VERSION = "v1.9.1";

/**
 * The plugins upstream's build_linux.sh builds for Linux at the pinned release: every
 * folder under plugins/meta, plugins/main (but windows/) and plugins/ipam, by category.
 * test/bundle.test.ts checks this list against the downloaded module's folders, so a
 * new pin that adds or drops a plugin fails there rather than in a cluster.
 */
export const CNI_PLUGINS: Record<"main" | "ipam" | "meta", readonly string[]> = {
  main: ["bridge", "dummy", "host-device", "ipvlan", "loopback", "macvlan", "ptp", "tap", "vlan"],
  ipam: ["dhcp", "host-local", "static"],
  meta: ["bandwidth", "firewall", "portmap", "sbr", "tuning", "vrf"],
};

/** Every plugin's binary name, sorted (the names in cni/bin/). */
export const cniPluginNames = (): string[] => Object.values(CNI_PLUGINS).flat().sort();

/** The build id the plugins are cached and recorded under, e.g. `cni-plugins-v1.9.1`. */
export const cniBuildId = (version = CNI_PLUGINS_VERSION) => `cni-plugins-${version}`;

/** upstream's scripts/release.sh: `-X .../pkg/utils/buildversion.BuildVersion=<tag>` (what `<plugin> --version` prints). */
export const cniLdflags = (version: string) => [`-X ${CNI_PLUGINS_MODULE}/pkg/utils/buildversion.BuildVersion=${version}`];

/** One static `go build` of every plugin from a wrapper that requires the plugins module. */
export function cniPluginsBuild(args: { version: string; goMod: string }): Build {
  const mod = parseGoMod(args.goMod);
  if (mod.module !== CNI_PLUGINS_MODULE) throw new Error(`expected the go.mod of ${CNI_PLUGINS_MODULE}, got ${JSON.stringify(mod.module)}`);
  // The plugins' go.mod has no replace lines; one would be ignored in a dependency, so refuse rather than build something else.
  if (mod.replaces.length) throw new Error(`${CNI_PLUGINS_MODULE}@${args.version} replaces ${mod.replaces.map((r) => r.from).join(", ")}: the wrapper would need to repeat them`);
  const packages = Object.entries(CNI_PLUGINS).flatMap(([kind, names]) => names.map((n) => `${CNI_PLUGINS_MODULE}/plugins/${kind}/${n}`));
  return {
    kind: "go",
    id: cniBuildId(args.version),
    title: `CNI plugins ${args.version}: ${cniPluginNames().join(", ")}`,
    files: {
      "go.mod": wrapperGoMod({
        module: "kubeadm-ha.toolchain/cni-plugins",
        go: mod.go ?? "1.24",
        godebug: mod.godebug,
        requires: [{ path: CNI_PLUGINS_MODULE, version: args.version }],
      }),
    },
    packages,
    ldflags: cniLdflags(args.version),
    outputs: cniPluginNames(),
  };
}

export function cniRecipes(version = CNI_PLUGINS_VERSION): Recipe[] {
  return [{ name: "cni-plugins", resolve: async (src) => [cniPluginsBuild({ version, goMod: await src.goMod(CNI_PLUGINS_MODULE, version) })] }];
}
