// The clouds whose resources the policy pack reads, in the order their own rules are listed
// (alphabetical). Hosts you own make no resources of their own: the Cluster component's outputs
// describe them (policy/rules.ts).
import { awsPolicy } from "./aws";
import { gcpPolicy } from "./gcp";
import type { PolicyPlatform } from "./platform";

export type { CloudMachine, PolicyPlatform } from "./platform";
export const POLICY_PLATFORMS: PolicyPlatform[] = [awsPolicy, gcpPolicy];
