// Entry point of `pulumi up`: stack file -> validated config -> cluster.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, fromRawConfig, validateClusterConfig } from "./components/config/validate";
import { NAMESPACE } from "./components/config/schema";
import { KubeadmCluster } from "./components/cluster";

function loadConfig() {
  try {
    return validateClusterConfig(fromRawConfig(pulumi.runtime.allConfig()), pulumi.getStack());
  } catch (e) {
    // RunError: Pulumi prints the message without a stack trace. Nothing has been registered yet.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const config = loadConfig();
const cluster = new KubeadmCluster(config.clusterName, {
  config,
  sshPrivateKey: new pulumi.Config(NAMESPACE).getSecret("sshPrivateKey"),
});

/** `host:port` every client uses; resolves per node (see README). */
export const endpoint = cluster.endpoint;
/** Internal address of the apiserver load balancer. */
export const endpointAddress = cluster.plan.endpoint.address;
/** Admin kubeconfig (secret): `pulumi stack output --show-secrets kubeconfig`. */
export const kubeconfig = cluster.kubeconfig;
/** Masters: name, zone, internal address. */
export const masters = cluster.plan.masters.map((m) => ({ name: m.name, zone: m.zone, address: m.ip }));
/** Node pools: name, zones, sizes. */
export const pools = cluster.plan.pools.map((p) => ({ name: p.pool.name, machineType: p.pool.machineType, zones: p.zones.map((z) => ({ zone: z.zone, group: z.name, nodes: z.nodesPerZone, min: z.minPerZone, max: z.maxPerZone })) }));
/** Public address of the SSH bastion. */
export const bastionAddress = cluster.bastionAddress;
/** SSH private key of the `kubeadm-ha` user when the program generated it (secret). */
export const sshPrivateKey = cluster.generatedSshPrivateKey;
