// What the offline render asks of a platform whose resources it reads: the cloud's naming
// rules (a name the cloud would refuse fails the render, as `pulumi up` would later), which
// resources carry a machine's boot config (written to files/ for the real tools), and the
// cloud's answers in the SDK's mock runtime (ids, computed outputs, invokes).
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
  /** The cloud's answer to creating a resource of `type` (its id and computed outputs, as the provider returns them); undefined when the type is not this cloud's. */
  mockResource(type: string, name: string, inputs: Record<string, any>): MockResource | undefined;
  /** The cloud's answer to the invoke `token` for the stack's config; undefined when the token is not this cloud's. */
  mockInvoke(token: string, inputs: Record<string, any>, config: Record<string, string>): Record<string, unknown> | undefined;
}

/** A created resource as the mock runtime reports it. */
export interface MockResource {
  id: string;
  state: Record<string, unknown>;
}
