// Every recipe the toolchain knows, and the versions it builds: Kubernetes at the
// program's default kubernetes.version and at the next minor the lab upgrades to, the
// Pulumi pieces at what the lockfile's SDKs ask for.
import { readFileSync } from "fs";
import { join } from "path";
import { DEFAULT_KUBERNETES_VERSION } from "../components/config/schema";
import { cniRecipes } from "./cni";
import { s3EndpointRecipes } from "./s3-endpoint";
import { kubernetesRecipes } from "./kubernetes";
import { pulumiRecipes } from "./pulumi";
import { Recipe } from "./recipe";

/**
 * The release the lab upgrades its clusters to (lab:cluster): the next minor after the
 * default kubernetes.version, built beside it.
 */
export const LAB_UPGRADE_VERSION = "1.35.4";

/** Versions to build: `kubernetes`, `kubernetesUpgrade`, and the npm packages' versions by package name. */
export type ToolchainVersions = Record<string, string>;

/** The npm packages whose engine and plugins the hosts-you-own stacks need. */
export const PULUMI_PACKAGES = ["@pulumi/pulumi", "@pulumi/command", "@pulumi/tls", "@pulumi/random"] as const;

/** Reads the versions package-lock.json pins for the Pulumi packages. */
export function lockedVersions(lockJson: string): Record<string, string> {
  const lock = JSON.parse(lockJson) as { packages: Record<string, { version?: string }> };
  const out: Record<string, string> = {};
  for (const p of PULUMI_PACKAGES) {
    const v = lock.packages[`node_modules/${p}`]?.version;
    if (!v) throw new Error(`package-lock.json has no ${p}`);
    out[p] = v;
  }
  return out;
}

export function toolchainVersions(root: string): ToolchainVersions {
  return { kubernetes: DEFAULT_KUBERNETES_VERSION, kubernetesUpgrade: LAB_UPGRADE_VERSION, ...lockedVersions(readFileSync(join(root, "package-lock.json"), "utf8")) };
}

export function allRecipes(v: ToolchainVersions): Recipe[] {
  return [...kubernetesRecipes(v.kubernetes), ...pulumiRecipes(v), ...cniRecipes(), ...kubernetesRecipes(v.kubernetesUpgrade, "upgrade"), ...s3EndpointRecipes()];
}
