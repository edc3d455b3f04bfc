// The checks of stack config that read the deploying machine's disk: an air-gapped bundle
// folder (`kubernetes.packages.path`) must be a bundle of the configured Kubernetes release;
// a snapshot to restore from (`restore.file`) must be a file. No Pulumi imports.
import { existsSync, statSync } from "fs";
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
  if (!existsSync(dir))
    return {
      message: `the bundle folder ${JSON.stringify(path)} does not exist (looked at ${dir})`,
      fix: `make it with \`${make}\`, or point packages.path at an existing bundle`,
    };
  let held: string;
  try {
    held = readBundleManifest(dir).kubernetesVersion;
  } catch (e) {
    if (!(e instanceof BundleManifestError)) throw e;
    return { message: e.message, fix: `make it again with \`${make}\`` };
  }
  if (held !== version) {
    return {
      message: `the bundle at ${JSON.stringify(path)} holds Kubernetes ${held}, the stack wants ${version}`,
      fix: `build a ${version} bundle (\`${make}\` with the toolchain at ${version}), or set kubernetes.version to ${held}`,
    };
  }
  return undefined;
}

/** undefined when `path` is a file; else what it is instead. */
export function missingFile(path: string): string | undefined {
  const at = resolve(path);
  if (!existsSync(at)) return `does not exist (looked at ${at})`;
  return statSync(at).isFile() ? undefined : `is not a file (${at})`;
}
