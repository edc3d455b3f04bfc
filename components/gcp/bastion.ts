import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { ClusterPlan } from "../plan/cluster-plan";
import { networkTag } from "../plan/gcp-plan";
import { BOOT_DISK_TYPE, SHIELDED, vmMetadata } from "./vm";

export interface GcpBastionArgs {
  plan: ClusterPlan;
  subnet: pulumi.Input<string>;
  /** Boot config: the SSH user and nothing else. */
  userData: pulumi.Input<string>;
}

/** The only VM with a public address; SSH to it is admitted from the admin CIDRs only. */
export class GcpBastion extends pulumi.ComponentResource {
  public readonly instance: gcp.compute.Instance;
  public readonly publicIp: pulumi.Output<string>;

  constructor(name: string, args: GcpBastionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:gcp:Bastion", name, {}, opts);
    const { plan } = args;
    const b = plan.bastion;
    this.instance = new gcp.compute.Instance(
      b.name,
      {
        name: b.name,
        zone: b.zone,
        machineType: plan.config.bastion.machineType,
        tags: [networkTag(plan, "bastion")],
        bootDisk: { initializeParams: { image: plan.config.image, size: 20, type: BOOT_DISK_TYPE } },
        networkInterfaces: [{ subnetwork: args.subnet, networkIp: b.ip, accessConfigs: [{}] }],
        shieldedInstanceConfig: SHIELDED,
        metadata: vmMetadata(args.userData),
        allowStoppingForUpdate: true,
      },
      { parent: this },
    );
    this.publicIp = this.instance.networkInterfaces.apply((n) => n[0]?.accessConfigs?.[0]?.natIp ?? "");
    this.registerOutputs({ publicIp: this.publicIp });
  }
}
