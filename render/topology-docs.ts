// npm run topology:docs — redraws docs/topology-<stack>.{dot,svg}, the pictures README
// shows, from the stack files (no program run needed: the picture comes from the plan).
import { mkdirSync, writeFileSync } from "fs";
import { join, resolve } from "path";
import { readStackFile } from "./render";
import { clusterDotOfConfig, drawSvg } from "./topology";

export const ROOT = resolve(__dirname, "..");
/** The stacks whose pictures README shows. */
export const DOC_STACKS = ["gcp-three-zone"];

/** The DOT of a cluster stack, straight from its stack file. */
export function clusterDotOf(stack: string, configDir = join(ROOT, "stacks")): string {
  return clusterDotOfConfig(stack, readStackFile(configDir, stack).config);
}

if (require.main === module) {
  mkdirSync(join(ROOT, "docs"), { recursive: true });
  for (const stack of DOC_STACKS) {
    const dot = clusterDotOf(stack);
    writeFileSync(join(ROOT, "docs", `topology-${stack}.dot`), dot);
    writeFileSync(join(ROOT, "docs", `topology-${stack}.svg`), drawSvg(dot));
    console.log(`wrote docs/topology-${stack}.dot and .svg`);
  }
}
