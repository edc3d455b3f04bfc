// The one check of stack config that reads the deploying machine's disk: an air-gapped
// bundle folder (`kubernetes.packages.path`) must be a bundle of the configured
// Kubernetes release. No Pulumi imports.
import { existsSync } from "fs";
import { resolve } from "path";
import { BundleManifestError, readBundleManifest } from "../../bundle/manifest";

export interface BundleProblem {
  message: string;
  fix: string;
}

/** undefined when the folder holds a bundle of `version`; else what is wrong and what to do. */
export function checkBundleFolder(path: string, version: string): BundleProblem | undefined {
  const dir = resolve(path);
  const make = `npm run bundle -- --out ${JSON.stringify(path)}`;
  if (!existsSync(dir)) return { message: `the bundle folder ${JSON.stringify(path)} does not exist (looked at ${dir})`, fix: `make it with \`${make}\`, or point packages.path at an existing bundle` };
  let held: string;
  try {
    held = readBundleManifest(dir).kubernetesVersion;
  } catch (e) {
    if (!(e instanceof BundleManifestError)) throw e;
    return { message: e.message, fix: `make it again with \`${make}\`` };
  }
  if (held !== version) {
    return { message: `the bundle at ${JSON.stringify(path)} holds Kubernetes ${held}, the stack wants ${version}`, fix: `build a ${version} bundle (\`${make}\` with the toolchain at ${version}), or set kubernetes.version to ${held}` };
  }
  return undefined;
}
