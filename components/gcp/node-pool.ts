import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { NodePoolArgs } from "../platform";
import { networkTag, WORKER_SCOPES } from "../plan/gcp-plan";
import { BOOT_DISK_TYPE, SHIELDED, vmMetadata } from "./vm";
import { workerLabels } from "../plan/labels";

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

    this.template = new gcp.compute.InstanceTemplate(
      `${name}-template`,
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
      const group = new gcp.compute.InstanceGroupManager(
        z.name,
        {
          name: z.name,
          zone: z.zone,
          baseInstanceName: z.name,
          versions: [{ name: "primary", instanceTemplate: this.template.selfLinkUnique }],
          // Initial size only: the autoscaler owns it afterwards.
          targetSize: z.nodesPerZone,
          updatePolicy: { type: "PROACTIVE", minimalAction: "REPLACE", maxSurgeFixed: 1, maxUnavailableFixed: 0 },
        },
        { ...parent, ignoreChanges: ["targetSize"] },
      );
      this.groups.push(group);
      this.autoscalers.push(
        new gcp.compute.Autoscaler(
          `${z.name}-autoscaler`,
          {
            name: `${z.name}-autoscaler`,
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
