// `pulumi up` of a cluster stack: stack file -> validated config -> cluster -> outputs.
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, ConfigError, fromRawConfig, validateClusterConfig } from "./config/validate";
import { restoreWithoutCluster, SETTLED_OUTPUT, settledChanges, settledOf } from "./config/settled";
import { newMastersDuringUpgrade, VERSION_OUTPUT, versionChangeProblems } from "./config/versions";
import { planCluster } from "./plan/cluster-plan";
import { NAMESPACE } from "./config/schema";
import { PLATFORM_RULES } from "./config/platforms";
import { KubeadmCluster } from "./cluster";
import { awsPreflight } from "./aws/preflight";
import { orConfigError } from "./run-error";
import { CERTIFICATES_OUTPUT, renewalRound } from "./plan/certificates";
import { durationSeconds } from "./config/durations";
import { BOOTSTRAP_TOKEN_OUTPUT, tokenRound } from "./plan/bootstrap-token";
import { backupCredentials } from "./plan/backups";
import { ENCRYPTION_OUTPUT, encryptionChangeProblems, encryptionPlan } from "./plan/encryption";
import { auditOutput } from "./plan/audit";

export async function clusterMain(all: Record<string, string>) {
  // Everything that can be wrong with the stack is found before any resource is registered.
  const config = await orConfigError(() => validateClusterConfig(fromRawConfig(all), pulumi.getStack(), all));
  return clusterOf(config);
}

/**
 * The cluster of a validated config, and the stack's outputs: what a running cluster refuses
 * to change is checked first (against its last outputs), then the resources are registered.
 * Every key a stack gives is read here or refused by validation (test/config-applies.test.ts).
 */
export async function clusterOf(config: ClusterConfig) {
  const ami = config.platform === "aws" ? await orConfigError(() => awsPreflight(config)) : undefined;
  // What the cluster settled when it was made (its name, networks, endpoint, CNI) stays, and
  // its release moves forward one minor at a time. The stack's own last outputs are read (a
  // read: nothing is created) after every other check.
  const last = await lastOutputs(config.clusterName, [SETTLED_OUTPUT, VERSION_OUTPUT, CERTIFICATES_OUTPUT, BOOTSTRAP_TOKEN_OUTPUT, ENCRYPTION_OUTPUT, "masters"]);
  await orConfigError(() => {
    const masters = planCluster(config).masters.map((m) => m.name);
    const mastersKey = PLATFORM_RULES[config.platform].mastersCount.path.join(".");
    const refused = [
      ...settledChanges(last[SETTLED_OUTPUT], config),
      ...restoreWithoutCluster(last[SETTLED_OUTPUT], config),
      ...versionChangeProblems(last[VERSION_OUTPUT], config.kubernetes.version),
      ...newMastersDuringUpgrade(last[VERSION_OUTPUT], config.kubernetes.version, last.masters, masters, mastersKey),
      ...encryptionChangeProblems(last[ENCRYPTION_OUTPUT], config),
    ];
    if (refused.length) throw new ConfigError(refused);
  });

  const now = new Date();
  const cluster = new KubeadmCluster(config.clusterName, {
    config,
    ami,
    sshPrivateKey: new pulumi.Config(NAMESPACE).getSecret("sshPrivateKey"),
    // An S3-compatible endpoint's keys reach the masters as a secret file, read as a secret here.
    backupCredentials: config.backups.s3
      ? new pulumi.Config(NAMESPACE)
          .requireSecretObject<{ s3: { accessKeyId: string; secretAccessKey: string } }>("backups")
          .apply((b) => backupCredentials(b.s3.accessKeyId, b.s3.secretAccessKey))
      : undefined,
    // Certificates due for renewal (by the expiry the last up saw) are renewed by this one.
    certificatesRound: renewalRound(last[CERTIFICATES_OUTPUT], now, durationSeconds(config.kubernetes.certificates.renewBefore)!),
    // A token past half of its lifetime (by the expiry the last up saw) is rotated by this one.
    tokenRound: tokenRound(last[BOOTSTRAP_TOKEN_OUTPUT], now, durationSeconds(config.kubernetes.bootstrapToken.ttl)!),
    // The key the apiservers wrote with last stays readable while every Secret moves to this
    // up's; a cluster made before encryption existed (no output, but settled) had plain bytes.
    encryption: encryptionPlan(config, last[ENCRYPTION_OUTPUT], last[SETTLED_OUTPUT] === undefined),
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
    pools: plan.pools.map((p) => ({
      name: p.pool.name,
      machineType: p.pool.machineType,
      zones: p.zones.map((z) => ({ zone: z.zone, group: z.name, nodes: z.nodesPerZone, min: z.minPerZone, max: z.maxPerZone })),
    })),
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
    /** The earliest expiry of the masters' control-plane certificates, and the renewal round this up is in. */
    [CERTIFICATES_OUTPUT]: cluster.certificates,
    /** The bootstrap token's rotation round and when the current token expires (the token itself stays secret, in state). */
    [BOOTSTRAP_TOKEN_OUTPUT]: cluster.bootstrapToken,
    /** Where the etcd snapshots go, how often, how long they are kept, and the one this up took. */
    backups: cluster.backups,
    /** What the apiservers write Secrets with (provider, key round) and still read: written once every Secret is. */
    [ENCRYPTION_OUTPUT]: cluster.encryption,
    /** The apiservers' audit log: on or off, where, how it is rotated. */
    audit: auditOutput(config),
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
