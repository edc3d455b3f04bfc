// `pulumi up` of a cluster stack: stack file -> validated config -> cluster -> outputs.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, fromRawConfig, validateClusterConfig } from "./config/validate";
import { SETTLED_OUTPUT, settledChanges, settledOf } from "./config/settled";
import { VERSION_OUTPUT, versionChangeProblems } from "./config/versions";
import { NAMESPACE } from "./config/schema";
import { KubeadmCluster } from "./cluster";
import { awsPreflight } from "./aws/preflight";
import { orConfigError } from "./run-error";

export async function clusterMain(all: Record<string, string>) {
  // Everything that can be wrong with the stack is found before any resource is registered.
  const config = await orConfigError(() => validateClusterConfig(fromRawConfig(all), pulumi.getStack(), all));
  const ami = config.platform === "aws" ? await orConfigError(() => awsPreflight(config)) : undefined;
  // What the cluster settled when it was made (its name, networks, endpoint, CNI) stays, and
  // its release moves forward one minor at a time. The stack's own last outputs are read (a
  // read: nothing is created) after every other check.
  const last = await lastOutputs(config.clusterName, [SETTLED_OUTPUT, VERSION_OUTPUT]);
  await orConfigError(() => {
    const refused = [...settledChanges(last[SETTLED_OUTPUT], config), ...versionChangeProblems(last[VERSION_OUTPUT], config.kubernetes.version)];
    if (refused.length) throw new ConfigError(refused);
  });

  const cluster = new KubeadmCluster(config.clusterName, {
    config,
    ami,
    sshPrivateKey: new pulumi.Config(NAMESPACE).getSecret("sshPrivateKey"),
  });
  const plan = cluster.plan;
  return {
    /** `host:port` every client uses; resolves per node (see README). */
    endpoint: cluster.endpoint,
    /** Internal address(es) of the apiserver load balancer (one per zone on AWS). */
    endpointAddresses: plan.endpoint.addresses,
    /** Admin kubeconfig (secret): `pulumi stack output --show-secrets kubeconfig`. */
    kubeconfig: cluster.kubeconfig,
    /** Masters: name, zone, internal address. */
    masters: plan.masters.map((m) => ({ name: m.name, zone: m.zone, address: m.ip })),
    /** Node pools: name, machine type, and per zone the group and its sizes. */
    pools: plan.pools.map((p) => ({ name: p.pool.name, machineType: p.pool.machineType, zones: p.zones.map((z) => ({ zone: z.zone, group: z.name, nodes: z.nodesPerZone, min: z.minPerZone, max: z.maxPerZone })) })),
    /** Public address of the SSH bastion. */
    bastionAddress: cluster.bastionAddress,
    /** SSH private key of the `kubeadm-ha` user when the program generated it (secret). */
    sshPrivateKey: cluster.generatedSshPrivateKey,
    /** What a federation stack reads through a StackReference: name, cloud, region, zones, where its ingress goes. */
    federation: cluster.federation,
    /** What the cluster settled when it was made and keeps for its life: the next `pulumi up` refuses to change them. */
    [SETTLED_OUTPUT]: settledOf(config),
    /** The Kubernetes release every master and worker you own runs: written once their upgrades passed. */
    [VERSION_OUTPUT]: cluster.kubernetesVersion,
    /** The AMI every AWS machine boots (pin it with kubeadm-ha:image). */
    ...(ami ? { ami } : {}),
  };
}

/**
 * Outputs of this stack's last `pulumi up`, read through a StackReference to the stack
 * itself (a read: nothing is created); undefined before the first up.
 */
async function lastOutputs(clusterName: string, names: string[]): Promise<Record<string, unknown>> {
  const self = new pulumi.StackReference(`${clusterName}-last-up`, { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await self.getOutputDetails(n)).value] as const)));
}
