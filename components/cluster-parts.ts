// What both kinds of cluster share, whoever makes the machines (GCP or AWS: cluster-on-cloud.ts;
// hosts you own: cluster-on-hosts.ts): the component's arguments, the cluster's PKI, the
// master turns and the arguments of the bootstrap they have in common.
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig } from "./config/validate";
import { durationSeconds } from "./config/durations";
import { ClusterPlan } from "./plan/cluster-plan";
import { BackupDestination, configuredDestination } from "./plan/backups";
import { EncryptionPlan, encryptionPlan } from "./plan/encryption";
import { MemberExport } from "./plan/member";
import { KubeadmBootstrap, KubeadmBootstrapArgs } from "./bootstrap";
import { MasterTurns } from "./master-turns";
import { ClusterPki } from "./pki";

export interface KubeadmClusterArgs {
  config: ClusterConfig;
  /** OpenSSH private key matching config.sshPublicKey; when both are absent a key pair is generated. */
  sshPrivateKey?: pulumi.Input<string>;
  /** An S3-compatible backup endpoint's credentials file (plan/backups.ts backupCredentials), secret. */
  backupCredentials?: pulumi.Input<string>;
  /** AWS: the AMI of every machine (config.image, or the looked-up one). */
  ami?: string;
  /** The certificate renewal round of this up (plan/certificates.ts renewalRound). @default "issued" */
  certificatesRound?: string;
  /** The bootstrap token's rotation round of this up (plan/bootstrap-token.ts tokenRound). @default 0 */
  tokenRound?: number;
  /** Secrets' encryption in this up (plan/encryption.ts encryptionPlan). @default a new cluster's */
  encryption?: EncryptionPlan;
}

/** The bootstrap's arguments that do not depend on who makes the machines. */
export type BootstrapCommon = Pick<KubeadmBootstrapArgs, "plan" | "shared" | "caCertHash" | "turns" | "etcdTurns" | "certificatesRound" | "tokenRound" | "encryption">;

export interface ClusterParts {
  /** The component's name: every child's name starts with it. */
  name: string;
  args: KubeadmClusterArgs;
  plan: ClusterPlan;
  /** Children's options: the component is their parent. */
  parent: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
  pki: ClusterPki;
  bootstrapArgs: BootstrapCommon;
  /** Where etcd snapshots go: the stack's destination, else the platform's bucket (none: no backups). */
  backups(bucket?: pulumi.Output<BackupDestination>): KubeadmBootstrapArgs["backups"];
}

/** What a kind of cluster made, for the component's outputs. */
export interface ClusterMade {
  bootstrap: KubeadmBootstrap;
  bastionAddress: pulumi.Output<string>;
  federation?: pulumi.Output<MemberExport>;
  generatedSshPrivateKey?: pulumi.Output<string>;
  /** The kind's own entries of the component's registered outputs. */
  outputs: Record<string, pulumi.Input<unknown>>;
}

/** The cluster's PKI, the turns its masters and etcd machines take, and what the bootstrap gets whoever makes the machines. */
export function clusterParts(name: string, args: KubeadmClusterArgs, plan: ClusterPlan, parent: ClusterParts["parent"]): ClusterParts {
  const tokenRound = args.tokenRound ?? 0;
  const encryption = args.encryption ?? encryptionPlan(plan.config, undefined, true);
  const certificates = plan.config.kubernetes.certificates;
  const pki = new ClusterPki(
    `${name}-pki`,
    {
      clusterName: plan.name,
      tokenRound,
      encryptionKeys: encryption.keys,
      // The apiservers' etcd client certificate: as long-lived as kubeadm's leaf certificates, made again as early.
      externalEtcd:
        plan.etcd.topology === "external"
          ? {
              validityHours: Math.floor(durationSeconds(certificates.validity)! / 3600),
              earlyRenewalHours: Math.max(1, Math.ceil(durationSeconds(certificates.renewBefore)! / 3600)),
            }
          : undefined,
    },
    parent,
  );
  // One master at a time: each master's VM and steps wait for the previous one healthy again;
  // and one external etcd machine at a time (clouds: each VM after the member before it is a voter again).
  const bootstrapArgs: BootstrapCommon = {
    plan,
    shared: pki.shared,
    caCertHash: pki.caCertHash,
    turns: new MasterTurns(plan.masters.length),
    etcdTurns: new MasterTurns(plan.etcd.members.length),
    certificatesRound: args.certificatesRound ?? "issued",
    tokenRound,
    encryption: { plan: encryption, keys: pki.encryptionKeys },
  };
  // etcd backups: where the stack says (a directory, an endpoint of yours), or the platform's bucket.
  const configured = configuredDestination(plan.config);
  const backups = (bucket?: pulumi.Output<BackupDestination>) => {
    const destination = configured ?? bucket;
    return destination ? { destination, credentials: configured?.kind === "s3" ? args.backupCredentials : undefined } : undefined;
  };
  return { name, args, plan, parent, pki, bootstrapArgs, backups };
}
