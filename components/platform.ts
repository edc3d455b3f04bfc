// What the platform-independent cluster needs from a platform (GCP today).
import * as pulumi from "@pulumi/pulumi";
import { BackupDestination } from "./plan/backups";
import { ClusterPlan, PoolPlan } from "./plan/cluster-plan";
import { InstanceIdentity } from "./plan/scripts";
import { MemberIngress } from "./plan/member";

export interface PoolsArgs {
  /** Boot config of the workers of one pool. */
  userData: (pool: PoolPlan) => pulumi.Input<string>;
  bootstrapToken: pulumi.Input<string>;
  /** The generation of a pool's workers (plan/worker-roll.ts): its groups are named after it. */
  generation: (pool: PoolPlan) => string;
  /** Pools are created only after the control plane is proven healthy. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

export interface PlatformInfrastructure {
  /** Public address of the SSH bastion. */
  bastionPublicIp: pulumi.Output<string>;
  /** Cloud identity of each master VM, in plan order. */
  masterIds: pulumi.Output<string>[];
  /** Each master's VM, in plan order: its steps wait for it (and for nothing of the other masters). */
  masterInstances: pulumi.Resource[];
  /** Cloud identity of each external etcd machine, in plan order (none with a stacked etcd). */
  etcdIds: pulumi.Output<string>[];
  /** Each external etcd machine's VM, in plan order: its steps wait for it. */
  etcdInstances: pulumi.Resource[];
  /** What must exist before the bootstrap can SSH to any machine (bastion, NAT, firewall), masters' VMs aside. */
  sshReady: pulumi.Resource[];
  /** The apiserver load balancer's SSH address (it forwards port 22 to a healthy master); none in local-proxy mode. */
  controlPlaneSsh?: pulumi.Output<string>;
  /** How a worker finds its name, address and the token at boot. */
  instanceIdentity: InstanceIdentity;
  addPools(args: PoolsArgs): pulumi.Resource[];
  /** After addPools: each zone's worker group, by pool. */
  workerGroups(): WorkerGroup[];
  /** Where a federation puts load balancers for its services (after addPools). */
  ingress(): pulumi.Output<MemberIngress>;
  /** The bucket the platform made for etcd snapshots (backups.destination "bucket"), once the masters may write to it. */
  readonly backupBucket?: pulumi.Output<BackupDestination>;
}

/** One zone's group of a pool, as the drain hooks need it. */
export interface WorkerGroup {
  pool: PoolPlan;
  /** The zone's part of the group's name (the name is this and the generation: generationGroupName). */
  zoneGroup: string;
  group: pulumi.Resource;
}

/** What every platform's infrastructure component is given. */
export interface InfrastructureArgs {
  plan: ClusterPlan;
  /** Boot config of the bastion: the SSH user and nothing else. */
  bastionUserData: pulumi.Input<string>;
  /** Boot config of each master, in plan order (no secrets: they come over SSH). */
  masterUserData: pulumi.Input<string>[];
  /**
   * What each master's VM waits for, in plan order: the previous master healthy again
   * (its bootstrap's `healthy` step), so a change that restarts or replaces the masters'
   * VMs reaches one master at a time.
   */
  masterAfter: pulumi.Input<pulumi.Resource>[][];
  /** Boot config of each external etcd machine, in plan order (none with a stacked etcd). */
  etcdUserData: pulumi.Input<string>[];
  /** What each etcd machine's VM waits for, in plan order: the member before it a healthy voter again. */
  etcdAfter: pulumi.Input<pulumi.Resource>[][];
}

/** What every platform's node-pool component is given. */
export interface NodePoolArgs {
  plan: ClusterPlan;
  pool: PoolPlan;
  /** The worker boot config of this pool (public: the token is fetched at boot). */
  userData: pulumi.Input<string>;
  /** The pool's generation: each group's physical name ends with it. */
  generation: string;
  /** Workers start only after the control plane is proven healthy. A component's dependsOn does not reach its children. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Base of each platform's infrastructure component: the fields the shared cluster reads. */
export abstract class InfrastructureComponent extends pulumi.ComponentResource implements PlatformInfrastructure {
  public abstract readonly bastionPublicIp: pulumi.Output<string>;
  public abstract readonly masterIds: pulumi.Output<string>[];
  public abstract readonly masterInstances: pulumi.Resource[];
  public abstract readonly etcdIds: pulumi.Output<string>[];
  public abstract readonly etcdInstances: pulumi.Resource[];
  public abstract readonly sshReady: pulumi.Resource[];
  public controlPlaneSsh?: pulumi.Output<string>;
  public abstract readonly instanceIdentity: InstanceIdentity;
  abstract addPools(args: PoolsArgs): pulumi.Resource[];
  protected abstract readonly plan: ClusterPlan;
  /** Each pool's component, in plan order, with its zones' groups in the pool's zone order. */
  protected abstract pools: Array<{ groups: pulumi.Resource[] }>;

  workerGroups(): WorkerGroup[] {
    return this.pools.flatMap((p, i) => this.plan.pools[i].zones.map((z, j) => ({ pool: this.plan.pools[i], zoneGroup: z.name, group: p.groups[j] })));
  }
  abstract ingress(): pulumi.Output<MemberIngress>;
  public backupBucket?: pulumi.Output<BackupDestination>;
}
