// What the policy pack asks of a cloud whose resources it reads: which resources are its
// machines and templates (their labels, zone and boot data), what its apiserver health check
// and its firewall rules say, which of its disks are not encrypted, and the rules only it has.
// One object per cloud (gcp.ts, aws.ts); hosts you own have no resources of their own, and the
// Cluster component's outputs describe them.
import type { PolicyResource, ResourceValidationPolicy } from "@pulumi/policy";

export type Props = Record<string, any>;

/** A machine or a template of machines, as the rules read it. */
export interface CloudMachine {
  /** A template of a group's machines (the workers'), not one machine. */
  template: boolean;
  /** Its labels under the LABEL keys (components/plan/labels.ts), whatever the cloud calls them. */
  labels: Record<string, string>;
  zone: string | undefined;
  /** What its boot data is called in a message: "instance metadata", "user data". */
  bootDataName: string;
  /** Every text of its boot data, decoded. */
  bootTexts: string[];
}

/** What a load balancer's health check of the apiservers probes. */
export interface HealthCheckSeen {
  port: number | undefined;
  protocol: string | undefined;
  path: string | undefined;
}

export interface PolicyPlatform {
  /** The resource as one of this cloud's machines or templates; undefined when it is neither. */
  machine(r: { type: string; props: Props }): CloudMachine | undefined;
  /** The health check of the apiservers' load balancer, when `r` is one. */
  apiserverHealthCheck(r: PolicyResource): HealthCheckSeen | undefined;
  /** The TCP port ranges a firewall rule or security group opens to the whole internet. */
  worldOpenRanges(type: string, props: Props): Array<[number, number]>;
  /** The disks of a machine, template or volume that are not encrypted, named as its inputs name them. */
  plainDisks(type: string, props: Props): string[];
  /** The rules only this cloud has. */
  policies: ResourceValidationPolicy[];
}

const WORLD = ["0.0.0.0/0", "::/0"];

/** Whether an address range (or any of a list of them) is the whole internet; none given is not. */
export function isWorld(cidrs: unknown): boolean {
  return (Array.isArray(cidrs) ? cidrs : [cidrs]).some((c) => WORLD.includes(String(c)));
}

/** A property as a number; undefined when not set. */
export const num = (v: unknown) => (v === undefined || v === null || v === "" ? undefined : Number(v));

/** Every string in a value, however deep. */
export function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => strings(x, out));
  return out;
}
