// What the platform-independent cluster needs from a platform (GCP today).
import * as pulumi from "@pulumi/pulumi";
import { PoolPlan } from "./plan/cluster-plan";
import { InstanceIdentity } from "./plan/scripts";

export interface PoolsArgs {
  /** Boot config of the workers of one pool. */
  userData: (pool: PoolPlan) => pulumi.Input<string>;
  bootstrapToken: pulumi.Input<string>;
  /** Pools are created only after the control plane is proven healthy. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

export interface PlatformInfrastructure {
  /** Public address of the SSH bastion. */
  bastionPublicIp: pulumi.Output<string>;
  /** Cloud identity of each master VM, in plan order. */
  masterIds: pulumi.Output<string>[];
  /** What must exist before the bootstrap can SSH to the masters. */
  sshReady: pulumi.Resource[];
  /** How a worker finds its name, address and the token at boot. */
  instanceIdentity: InstanceIdentity;
  addPools(args: PoolsArgs): pulumi.Resource[];
}
