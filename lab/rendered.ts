// The lab runs the files the program renders for the hosts-you-own stacks, with only the
// addresses moved into the lab's range: a view over the one render per stack and process
// that lab/kubeadm.ts makes (the render CLI in a child process, its folder removed at exit).
import { existsSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import { renderCluster } from "./kubeadm";
import { readStackFile } from "../render/render";
import { fromRawConfig, validateClusterConfig } from "../components/config/validate";

/** The onprem layouts' addresses (10.103.97.x); the lab moves them to LAB_NET. */
export const ONPREM_NET = "10.103.97";

export interface RenderedStack {
  stack: string;
  outputs: Record<string, unknown>;
  clusterName: string;
  endpointName: string;
  /** A rendered file of a machine, by absolute path on the machine. */
  file(machine: string, path: string): string;
  /** The machine's SSH steps (`/commands/<step>.sh`), as paths for `file`, in the order the steps run. */
  commandScripts(machine: string): string[];
  /** Workers the stack lists (hosts you own), with their addresses. */
  workers(): Array<{ name: string; address: string }>;
}

const cache = new Map<string, Promise<RenderedStack>>();

/** Steps of a machine in the order the program runs them. */
const STEP_ORDER = ["prepare", "files", "secrets", "init", "join", "kubeconfig", "validate"];

export function renderedStack(stack: string): Promise<RenderedStack> {
  if (!cache.has(stack)) cache.set(stack, load(stack));
  return cache.get(stack)!;
}

async function load(stack: string): Promise<RenderedStack> {
  const root = join(__dirname, "..");
  const { dir: out, outputs } = await renderCluster(stack);
  const file = (machine: string, path: string) => {
    const p = join(out, "files", machine, path);
    if (!existsSync(p)) throw new Error(`the ${stack} render has no ${machine}${path}`);
    return readFileSync(p, "utf8");
  };
  const config = validateClusterConfig(fromRawConfig(readStackFile(join(root, "stacks"), stack).config), stack);
  return {
    stack,
    outputs,
    clusterName: config.clusterName,
    endpointName: String(outputs.endpoint).replace(/:\d+$/, ""),
    file,
    commandScripts: (machine) => {
      const dir = join(out, "files", machine, "commands");
      const steps = readdirSync(dir).filter((f) => STEP_ORDER.includes(f.replace(/\.sh$/, "")));
      return steps.sort((a, b) => STEP_ORDER.indexOf(a.replace(/\.sh$/, "")) - STEP_ORDER.indexOf(b.replace(/\.sh$/, ""))).map((f) => `/commands/${f}`);
    },
    workers: () => (config.hosts?.workers ?? []).map((w) => ({ name: w.name, address: w.address })),
  };
}
