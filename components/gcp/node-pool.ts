import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { NodePoolArgs } from "../platform";
import { networkTag, WORKER_SCOPES } from "../plan/platforms/gcp-resources";
import { BOOT_DISK_TYPE, SHIELDED, vmMetadata } from "./vm";
import { workerLabels } from "../plan/labels";
import { generationGroupName } from "../plan/worker-roll";

/** Target CPU utilisation of the GCE autoscaler. */
export const AUTOSCALER_CPU_TARGET = 0.6;
/** Seconds a new VM needs before its CPU counts (boot + kubeadm join). */
export const AUTOSCALER_COOLDOWN_S = 180;

export interface GcpNodePoolArgs extends NodePoolArgs {
  subnet: pulumi.Input<string>;
  serviceAccountEmail: pulumi.Input<string>;
}

/** Per pool: one instance template; per zone: a managed instance group and its autoscaler. */
export class GcpNodePool extends pulumi.ComponentResource {
  public readonly template: gcp.compute.InstanceTemplate;
  public readonly groups: gcp.compute.InstanceGroupManager[];
  public readonly autoscalers: gcp.compute.Autoscaler[];

  constructor(name: string, args: GcpNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:gcp:NodePool", name, {}, opts);
    const { plan, pool } = args;
    const parent = { parent: this, dependsOn: args.dependsOn };

    // Of its generation, as its groups are: the old template goes after the old groups, at the
    // end of an up that went through (a replacement's old template would be deleted first thing
    // in the up after a failed one, while its groups still use it).
    this.template = new gcp.compute.InstanceTemplate(
      `${generationGroupName(name, args.generation)}-template`,
      {
        // Templates are immutable: a prefix lets a changed one be created before the old one goes.
        namePrefix: `${pool.name}-`,
        machineType: pool.pool.machineType,
        tags: [networkTag(plan, "worker")],
        labels: workerLabels(plan, pool.pool.name),
        disks: [{ boot: true, autoDelete: true, sourceImage: plan.config.image, diskSizeGb: pool.pool.diskSizeGb, diskType: BOOT_DISK_TYPE }],
        networkInterfaces: [{ subnetwork: args.subnet }],
        shieldedInstanceConfig: SHIELDED,
        serviceAccount: { email: args.serviceAccountEmail, scopes: WORKER_SCOPES },
        // The token is not here: workers read it from Secret Manager (gcpInstanceIdentity), so a
        // rotation changes no template and replaces no worker.
        metadata: vmMetadata(args.userData),
      },
      parent,
    );

    this.groups = [];
    this.autoscalers = [];
    for (const z of pool.zones) {
      // Named after the generation: a new generation is a new group beside the old one
      // (blue-green), whose nodes are drained before it goes (plan/worker-roll.ts). A new
      // name, not a replacement: Pulumi deletes the old group only after an up that went
      // through, never first thing in the next up after a failed one (pulumi/pulumi#9979).
      const groupName = generationGroupName(z.name, args.generation);
      const group = new gcp.compute.InstanceGroupManager(
        groupName,
        {
          name: groupName,
          zone: z.zone,
          baseInstanceName: groupName,
          versions: [{ name: "primary", instanceTemplate: this.template.selfLinkUnique }],
          // Initial size only: the autoscaler owns it afterwards.
          targetSize: z.nodesPerZone,
          // Never replaces a running worker itself: a new template comes with a new group.
          updatePolicy: { type: "OPPORTUNISTIC", minimalAction: "REPLACE", maxSurgeFixed: 1, maxUnavailableFixed: 0 },
        },
        { ...parent, ignoreChanges: ["targetSize"] },
      );
      this.groups.push(group);
      this.autoscalers.push(
        new gcp.compute.Autoscaler(
          `${groupName}-autoscaler`,
          {
            name: `${groupName}-autoscaler`,
            zone: z.zone,
            target: group.id,
            autoscalingPolicy: {
              minReplicas: z.minPerZone,
              maxReplicas: z.maxPerZone,
              mode: pool.pool.autoscalingMode,
              cooldownPeriod: AUTOSCALER_COOLDOWN_S,
              cpuUtilization: { target: AUTOSCALER_CPU_TARGET },
            },
          },
          parent,
        ),
      );
    }
    this.registerOutputs({});
  }
}
