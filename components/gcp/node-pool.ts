import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { NodePoolArgs } from "../platform";
import { NODE_SCOPES, networkTag } from "../plan/gcp-plan";
import { InstanceIdentity } from "../plan/scripts";
import { BOOT_DISK_TYPE, SHIELDED, vmMetadata } from "./vm";
import { workerLabels } from "../plan/labels";

/** Metadata key holding the bootstrap token on worker templates (a Pulumi secret). */
export const TOKEN_METADATA_KEY = "kubeadm-ha-bootstrap-token";
/** Target CPU utilisation of the GCE autoscaler. */
export const AUTOSCALER_CPU_TARGET = 0.6;
/** Seconds a new VM needs before its CPU counts (boot + kubeadm join). */
export const AUTOSCALER_COOLDOWN_S = 180;

const METADATA = "http://metadata.google.internal/computeMetadata/v1/instance";

/** How a GCP worker learns its name, address and the token: the metadata server. */
export const GCP_INSTANCE_IDENTITY: InstanceIdentity = {
  prelude: "",
  name: `curl -fsS -H 'Metadata-Flavor: Google' ${METADATA}/name`,
  ip: `curl -fsS -H 'Metadata-Flavor: Google' ${METADATA}/network-interfaces/0/ip`,
  token: `curl -fsS -H 'Metadata-Flavor: Google' ${METADATA}/attributes/${TOKEN_METADATA_KEY}`,
};

export interface GcpNodePoolArgs extends NodePoolArgs {
  subnet: pulumi.Input<string>;
  serviceAccountEmail: pulumi.Input<string>;
  /** Kept as a secret metadata item of the template, apart from the boot config. */
  bootstrapToken: pulumi.Input<string>;
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
        serviceAccount: { email: args.serviceAccountEmail, scopes: NODE_SCOPES },
        metadata: vmMetadata(args.userData, { [TOKEN_METADATA_KEY]: pulumi.secret(args.bootstrapToken) }),
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
