// Release names and wrapper go.mod rules shared by every Pulumi build (CLI, language host,
// plugins). Pure.
import { GoModFacts, isLocalReplace } from "./recipe";

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
  const key = (v: string) =>
    v
      .split(".")
      .map((n) => n.padStart(4, "0"))
      .join(".");
  return known.reduce((a, b) => (key(b) > key(a) ? b : a));
}

/** `-X` stamps of the Pulumi version variable (the CLI and the language host both read it). */
export const pulumiVersionLdflags = (version: string) => [`-X ${PULUMI_VERSION_VAR}=${releaseTag(version)}`];
