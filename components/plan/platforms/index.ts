// Each platform's part of the plan, by the name a stack gives (kubeadm-ha:platform). No Pulumi imports.
import type { PlatformName } from "../../config/platforms";
import { awsPlan } from "./aws";
import { gcpPlan } from "./gcp";
import { PlatformPlan } from "./platform";
import { staticPlan } from "./static";

export const PLATFORM_PLANS: Readonly<Record<PlatformName, PlatformPlan>> = { gcp: gcpPlan, aws: awsPlan, static: staticPlan };

export type { PlatformPlan } from "./platform";
export type { BastionPlan, NetworkLayout, Place, SubnetPlan } from "./layout";
