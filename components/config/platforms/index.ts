// The platforms the validation knows, by the name a stack gives (kubeadm-ha:platform).
// Adding one: a module beside these implementing PlatformRules, and its name here and in
// the schema's platform enum (docs/adding-a-platform.md). Pure: no Pulumi imports.
import { aws } from "./aws";
import { gcp } from "./gcp";
import { PlatformName, PlatformRules } from "./rules";
import { onHostsYouOwn } from "./static";

export const PLATFORM_RULES: Readonly<Record<PlatformName, PlatformRules>> = { gcp, aws, static: onHostsYouOwn };

/** The rules of the platform a stack names, if it is one (a value the schema has not checked yet). */
export function rulesNamed(name: unknown): PlatformRules | undefined {
  return typeof name === "string" && Object.hasOwn(PLATFORM_RULES, name) ? PLATFORM_RULES[name as PlatformName] : undefined;
}

export type { EndpointMode, MachineDefaults, Placement, PlatformName, PlatformRules } from "./rules";
