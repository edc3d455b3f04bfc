// Where the steps that need any one healthy master connect: resolves plan.controlPlaneSsh.
import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { ControlPlaneSsh } from "./plan/cluster-plan";

/** How long a master may take to accept a connection on its SSH port before the next is asked. */
export const SSH_ANSWER_TIMEOUT_MS = 3000;
const SSH_PORT = 22;

/** The host a control-plane step connects to; `avoid`: the address of the master the step is about (it may be the one lost). */
export type ControlPlaneHost = (avoid?: string) => pulumi.Input<string>;

/**
 * The endpoint's address (`loadBalancerSsh` when the plan leaves it to the load balancer),
 * which the endpoint itself sends to a healthy master; or the first master, in plan order
 * and other than `avoid`, that accepts a TCP connection on port 22 when the program runs
 * (`pulumi preview` and `pulumi up` alike). Without a direct route to the masters (a
 * bastion) or under the SDK's mock runtime (the offline render, the tests), nothing is
 * probed: the first candidate.
 */
export function controlPlaneHost(ssh: ControlPlaneSsh, opts: { loadBalancerSsh?: pulumi.Input<string>; direct: boolean }): ControlPlaneHost {
  if (ssh.kind === "endpoint") {
    const address = ssh.address ?? opts.loadBalancerSsh;
    if (address === undefined) throw new Error("the plan leaves the control plane's SSH address to a load balancer that has none");
    return () => address;
  }
  const probe = opts.direct && !(pulumi.runtime.getMonitor() instanceof MockMonitor);
  const asked = new Map<string, Promise<boolean>>();
  return (avoid) => {
    const candidates = ssh.candidates.length > 1 ? ssh.candidates.filter((c) => c !== avoid) : ssh.candidates;
    return probe ? pulumi.output(firstAnswering(candidates, SSH_PORT, SSH_ANSWER_TIMEOUT_MS, asked)) : candidates[0];
  };
}

/**
 * The first address that accepts a TCP connection on `port` within `timeoutMs`, asked in
 * order; the first one when none does. `asked` keeps each address's answer for this run.
 */
export async function firstAnswering(addresses: string[], port: number, timeoutMs: number, asked = new Map<string, Promise<boolean>>()): Promise<string> {
  for (const address of addresses) {
    if (!asked.has(address)) asked.set(address, answers(address, port, timeoutMs));
    if (await asked.get(address)!) return address;
  }
  pulumi.log.warn(`control-plane steps: none of ${addresses.join(", ")} answers on port ${port}; trying ${addresses[0]}`);
  return addresses[0];
}

function answers(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (ok: boolean) => {
      socket.destroy();
      if (!ok) pulumi.log.info(`control-plane steps: ${address}:${port} does not answer; asking the next master`);
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
