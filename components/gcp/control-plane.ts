import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { APISERVER_PORT, zoneSuffix } from "../plan/cluster-plan";
import { masterScopes, networkTag } from "../plan/platforms/gcp-resources";
import { fixedAddressVm, GcpMachinesArgs } from "./vm";
import { masterLabels } from "../plan/labels";

/** Each master's VM waits for the previous master to be healthy again. */
export type GcpControlPlaneArgs = GcpMachinesArgs;

/**
 * One master VM per zone at a reserved internal address, and one unmanaged
 * instance group per zone for the internal load balancer.
 */
export class GcpControlPlane extends pulumi.ComponentResource {
  public readonly instances: gcp.compute.Instance[];
  public readonly groups: gcp.compute.InstanceGroup[];
  public readonly serviceAccount: gcp.serviceaccount.Account;

  constructor(name: string, args: GcpControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:gcp:ControlPlane", name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };
    this.serviceAccount = new gcp.serviceaccount.Account(`${name}-sa`, { accountId: `${plan.name}-master`, displayName: `${plan.name} control-plane nodes` }, parent);

    this.instances = plan.masters.map((m) =>
      fixedAddressVm(
        m.name,
        {
          zone: m.zone,
          ip: m.ip,
          region: plan.region,
          subnet: args.subnet,
          image: plan.config.image,
          diskSizeGb: plan.config.controlPlane.diskSizeGb,
          userData: args.userData[m.index],
        },
        {
          machineType: plan.config.controlPlane.machineType,
          tags: [networkTag(plan, "master")],
          labels: masterLabels(plan),
          serviceAccount: { email: this.serviceAccount.email, scopes: masterScopes(plan.config) },
        },
        // One master at a time: a new image replaces, a new machine type stops, each VM only
        // once the previous master is healthy again.
        { parent: this, dependsOn: args.after[m.index] },
      ),
    );

    this.groups = plan.zones
      .filter((zone) => plan.masters.some((m) => m.zone === zone))
      .map((zone) => {
        const group = new gcp.compute.InstanceGroup(
          `${name}-${zoneSuffix(zone)}`,
          { name: `${name}-${zoneSuffix(zone)}`, zone, description: `${plan.name} masters in ${zone}`, namedPorts: [{ name: "apiserver", port: APISERVER_PORT }] },
          // Its members are the memberships below, which the group must not fight over.
          { parent: this, ignoreChanges: ["instances"] },
        );
        // Membership goes by selfLink, which a recreated VM keeps: a replaced master would
        // stay out of its group (and of the load balancer) unless its membership is
        // replaced with it, which adds the new VM.
        for (const m of plan.masters.filter((x) => x.zone === zone)) {
          const instance = this.instances[m.index];
          new gcp.compute.InstanceGroupMembership(`${m.name}-group`, { zone, instanceGroup: group.name, instance: instance.selfLink }, { parent: this, replaceWith: [instance] });
        }
        return group;
      });
    this.registerOutputs({});
  }
}
