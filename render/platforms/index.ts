// The platforms whose resources the render reads (hosts you own make no resources of their own).
import { awsRender } from "./aws";
import { gcpRender } from "./gcp";
import type { RenderPlatform } from "./platform";

export type { BootConfigSeen, RenderPlatform } from "./platform";
export const RENDER_PLATFORMS: RenderPlatform[] = [gcpRender, awsRender];
