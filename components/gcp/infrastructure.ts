import * as pulumi from "@pulumi/pulumi";
import { ClusterPlan } from "../plan/cluster-plan";
import { InfrastructureArgs, InfrastructureComponent, PoolsArgs } from "../platform";
import { MemberIngress } from "../plan/member";
import { GcpApiServerLoadBalancer } from "./apiserver-lb";
import { GcpControlPlane } from "./control-plane";
import { GcpEtcdMachines } from "./etcd-machines";
import { GcpNetwork } from "./network";
import { GcpNodePool } from "./node-pool";
import { GcpBackupBucket } from "./backup-bucket";
import * as gcp from "@pulumi/gcp";
import { gcpInstanceIdentity, networkTag, tokenSecretId } from "../plan/platforms/gcp-resources";
import { BASTION_DISK_GB } from "../plan/cluster-plan";
import { BOOT_DISK_TYPE, SHIELDED, vmMetadata } from "./vm";
import { LABEL } from "../plan/labels";

/** Everything a cluster needs from GCP: network, bastion, masters, the apiserver LB, and later the pools. */
export class GcpInfrastructure extends InfrastructureComponent {
  public readonly bastionPublicIp: pulumi.Output<string>;
  public readonly masterIds: pulumi.Output<string>[];
  public readonly masterInstances: pulumi.Resource[];
  public readonly etcdIds: pulumi.Output<string>[];
  public readonly etcdInstances: pulumi.Resource[];
  public readonly sshReady: pulumi.Resource[];
  public readonly instanceIdentity: ReturnType<typeof gcpInstanceIdentity>;
  protected readonly plan: ClusterPlan;
  private readonly network: GcpNetwork;
  private readonly workerAccount: gcp.serviceaccount.Account;
  protected pools: GcpNodePool[] = [];

  constructor(name: string, args: InfrastructureArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:gcp:Infrastructure", name, {}, opts);
    const { plan } = args;
    this.plan = plan;
    this.instanceIdentity = gcpInstanceIdentity(plan);
    const parent = { parent: this };
    this.network = new GcpNetwork(name, { plan }, parent);
    const subnet = this.network.subnet.id;
    // The only VM with a public address; the firewall admits SSH to it from the admin CIDRs only.
    const bastion = new gcp.compute.Instance(
      plan.bastion.name,
      {
        name: plan.bastion.name,
        zone: plan.bastion.zone,
        machineType: plan.config.bastion.machineType,
        tags: [networkTag(plan, "bastion")],
        bootDisk: { initializeParams: { image: plan.config.image, size: BASTION_DISK_GB, type: BOOT_DISK_TYPE } },
        networkInterfaces: [{ subnetwork: subnet, networkIp: plan.bastion.ip, accessConfigs: [{}] }],
        shieldedInstanceConfig: SHIELDED,
        metadata: vmMetadata(args.bastionUserData),
        allowStoppingForUpdate: true,
      },
      parent,
    );
    const controlPlane = new GcpControlPlane(`${name}-masters`, { plan, subnet, userData: args.masterUserData, after: args.masterAfter }, parent);
    const etcd =
      plan.etcd.topology === "external" ? new GcpEtcdMachines(`${name}-etcd`, { plan, subnet, userData: args.etcdUserData, after: args.etcdAfter }, parent).instances : [];
    // local-proxy: every node balances itself; no load balancer.
    if (plan.config.endpoint.mode === "cloud-lb") {
      const lb = new GcpApiServerLoadBalancer(`${name}-apiserver`, { plan, network: this.network.network.id, subnet, groups: controlPlane.groups.map((g) => g.id) }, parent);
      this.controlPlaneSsh = lb.sshAddress;
    }
    if (plan.config.backups.enabled && plan.config.backups.destination === "bucket") {
      this.backupBucket = new GcpBackupBucket(`${plan.name}-etcd-backups`, { plan, writerEmail: controlPlane.serviceAccount.email }, parent).destination;
    }
    this.workerAccount = new gcp.serviceaccount.Account(`${name}-workers-sa`, { accountId: `${plan.name}-worker`, displayName: `${plan.name} worker nodes` }, parent);

    this.bastionPublicIp = bastion.networkInterfaces.apply((n) => n[0]?.accessConfigs?.[0]?.natIp ?? "");
    this.masterIds = controlPlane.instances.map((i) => i.instanceId);
    this.masterInstances = controlPlane.instances;
    this.etcdIds = etcd.map((i) => i.instanceId);
    this.etcdInstances = etcd;
    this.sshReady = [bastion, this.network.nat, ...this.network.firewalls];
    this.registerOutputs({ bastionPublicIp: this.bastionPublicIp });
  }

  ingress(): pulumi.Output<MemberIngress> {
    return pulumi.all([this.network.network.selfLink, ...this.pools.flatMap((p) => p.groups.map((g) => g.instanceGroup))]).apply(([network, ...workerGroups]) => ({
      cloud: "gcp" as const,
      network,
      workerTag: networkTag(this.plan, "worker"),
      workerGroups,
    }));
  }

  addPools(args: PoolsArgs): pulumi.Resource[] {
    const plan = this.plan;
    const parent = { parent: this };
    // The token reaches workers through Secret Manager, readable by the workers' service
    // account only; a rotation adds a version (written once the token is in the cluster)
    // and destroys the old one.
    const secret = new gcp.secretmanager.Secret(
      `${plan.name}-bootstrap-token`,
      { secretId: tokenSecretId(plan), replication: { auto: {} }, labels: { [LABEL.cluster]: plan.name } },
      parent,
    );
    const version = new gcp.secretmanager.SecretVersion(
      `${plan.name}-bootstrap-token-version`,
      { secret: secret.id, secretData: pulumi.secret(args.bootstrapToken) },
      { ...parent, dependsOn: args.dependsOn },
    );
    const reader = new gcp.secretmanager.SecretIamMember(
      `${plan.name}-bootstrap-token-reader`,
      { secretId: secret.id, role: "roles/secretmanager.secretAccessor", member: pulumi.interpolate`serviceAccount:${this.workerAccount.email}` },
      parent,
    );
    this.pools = this.plan.pools.map(
      (pool) =>
        new GcpNodePool(
          pool.name,
          {
            plan: this.plan,
            pool,
            subnet: this.network.subnet.id,
            serviceAccountEmail: this.workerAccount.email,
            userData: args.userData(pool),
            generation: args.generation(pool),
            dependsOn: [...args.dependsOn, version, reader],
          },
          { parent: this },
        ),
    );
    return [version, ...this.pools];
  }
}
