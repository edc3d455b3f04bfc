// What the offline render asks of a platform whose resources it reads: the cloud's naming
// rules (a name the cloud would refuse fails the render, as `pulumi up` would later), and
// which resources carry a machine's boot config (written to files/ for the real tools).
import type { Registration } from "../mocks";

/** A machine's boot config as a resource carries it. */
export interface BootConfigSeen {
  /** The machine (or the group's template) it boots: its folder under files/. */
  machine: string;
  /** The cloud-init document (a secret's unwrapped). */
  text: unknown;
  secret: boolean;
}

export interface RenderPlatform {
  /** What in the resource's inputs breaks the cloud's naming rules, each with its fix. */
  nameProblems(r: Registration): string[];
  /** The boot config the resource carries, when it is a machine or a template of machines and carries one. */
  bootConfig(r: Registration): BootConfigSeen | undefined;
}
