import * as pulumi from "@pulumi/pulumi";
import { ClusterPlan, planCluster } from "./plan/cluster-plan";
import { MemberExport } from "./plan/member";
import { CLUSTER_TYPE, controlPlaneFacts } from "./plan/labels";
import { CertificatesOutput } from "./plan/certificates";
import { BootstrapTokenOutput } from "./plan/bootstrap-token";
import { BackupsOutput } from "./plan/backups";
import { EncryptionOutput } from "./plan/encryption";
import { clusterParts, KubeadmClusterArgs } from "./cluster-parts";
import { clusterOnHosts } from "./cluster-on-hosts";
import { clusterOnCloud } from "./cluster-on-cloud";

export type { KubeadmClusterArgs } from "./cluster-parts";

/**
 * A highly-available kubeadm cluster: masters in distinct zones behind the
 * apiserver endpoint, stacked etcd, worker pools, bootstrapped over SSH.
 */
export class KubeadmCluster extends pulumi.ComponentResource {
  public readonly plan: ClusterPlan;
  public readonly endpoint: string;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly bastionAddress: pulumi.Output<string>;
  /** What a federation needs from this cluster (the `federation` stack output); GCP and AWS only. */
  public readonly federation?: pulumi.Output<MemberExport>;
  /** The release every master and worker you own runs, once their upgrades passed (see KubeadmBootstrap). */
  public readonly kubernetesVersion: pulumi.Output<string>;
  /** The earliest expiry of the masters' certificates, and the renewal round (see KubeadmBootstrap). */
  public readonly certificates: pulumi.Output<CertificatesOutput>;
  /** The bootstrap token's rotation round and expiry (see KubeadmBootstrap). */
  public readonly bootstrapToken: pulumi.Output<BootstrapTokenOutput>;
  /** Where the etcd snapshots go, how often, and the one the up took (see KubeadmBootstrap). */
  public readonly backups: pulumi.Output<BackupsOutput>;
  /** What the apiservers write Secrets with, once every Secret is (see KubeadmBootstrap). */
  public readonly encryption: pulumi.Output<EncryptionOutput>;
  /** The generated SSH private key (secret), when the stack gave none. */
  public readonly generatedSshPrivateKey?: pulumi.Output<string>;

  constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(CLUSTER_TYPE, name, {}, opts);
    const plan = (this.plan = planCluster(args.config));
    const parts = clusterParts(name, args, plan, { parent: this });
    const made = plan.config.platform === "static" ? clusterOnHosts(parts, plan.config.hosts) : clusterOnCloud(parts, plan.config);
    const { bootstrap } = made;
    this.endpoint = plan.endpoint.hostPort;
    this.kubeconfig = bootstrap.kubeconfig;
    this.kubernetesVersion = bootstrap.kubernetesVersion;
    this.certificates = bootstrap.certificates;
    this.bootstrapToken = bootstrap.bootstrapToken;
    this.backups = bootstrap.backups;
    this.encryption = bootstrap.encryption;
    this.bastionAddress = made.bastionAddress;
    this.federation = made.federation;
    this.generatedSshPrivateKey = made.generatedSshPrivateKey;
    this.registerOutputs({ endpoint: this.endpoint, kubeconfig: this.kubeconfig, ...made.outputs, controlPlane: controlPlaneFacts(plan) });
  }
}
