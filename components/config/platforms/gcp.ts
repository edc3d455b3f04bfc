// GCP's rules: its names, defaults and limits. Pure: no Pulumi imports.
import { CLUSTER_NAME_MAX } from "../schema";
import { show } from "../problems";
import { cloudRules } from "./cloud";

/** GCP image of every machine: Ubuntu 24.04 LTS (cloud-init, apt, systemd). */
export const DEFAULT_GCP_IMAGE = "ubuntu-os-cloud/ubuntu-2404-lts-amd64";
/** Longest instance-template name prefix (`<cluster>-<pool>-`) that still gets the provider's full unique suffix; longer ones get a shortened, collision-prone one (the render refuses them). */
export const GCP_NAME_PREFIX_MAX = 37;

/** project/family, project/image, a family or image of the project, or its self-link. */
const GCP_IMAGE =
  /^((https:\/\/www\.googleapis\.com\/compute\/v1\/)?projects\/[a-z][-a-z0-9.:]*\/global\/images\/(family\/)?[a-z][-a-z0-9]*|([a-z][-a-z0-9.:]*[a-z0-9]\/)?[a-z]([-a-z0-9]*[a-z0-9])?)$/;
const AMI = /^ami-[0-9a-f]{8,17}$/;

export const gcp = cloudRules(
  {
    name: "gcp",
    title: "GCP",
    // Masters get 4 vCPU / 16 GiB (etcd and the apiserver are comfortable up to a few hundred nodes); the bastion only forwards SSH.
    defaults: { masterMachineType: "e2-standard-4", workerMachineType: "e2-standard-4", etcdMachineType: "e2-standard-2", bastionMachineType: "e2-small" },
    region: /^[a-z]+-[a-z]+\d+$/,
    zone: /^[a-z]+-[a-z]+\d+-[a-z]$/,
    machineType: /^[a-z0-9]+(-[a-z0-9]+)+$/,
    example: { region: "europe-west1", zone: "europe-west1-b", machineType: "e2-standard-4" },
    zoneOf: (region, l) => `${region}-${l}`,
    inRegion: (z, region) => z.startsWith(region + "-"),
    imageProblem: (image) =>
      AMI.test(image) || !GCP_IMAGE.test(image)
        ? [
            `${show(image)} is not a GCP image${/^ami-/.test(image) ? " (an AMI id is AWS's)" : ""}`,
            "use project/family, e.g. ubuntu-os-cloud/ubuntu-2404-lts-amd64, or leave image out",
          ]
        : undefined,
    providerRegionRequired: false,
  },
  {
    ownKeys: (c) => ({ platform: "gcp", image: c.image ?? DEFAULT_GCP_IMAGE }),
    refuseKeys(c, _mode, _refuse, add) {
      if (c.network.natGateways !== undefined)
        add(["network", "natGateways"], `${show(c.network.natGateways)} applies to AWS only (GCP uses one regional Cloud NAT)`, "remove network.natGateways");
    },
    checkNodeCidr: () => {},
    // The pool's instance template is named `<cluster>-<pool>-` + a generated suffix (components/gcp/node-pool.ts).
    checkPoolName(clusterName, pool, i, add) {
      const prefix = `${clusterName}-${pool}-`;
      if (clusterName.length <= CLUSTER_NAME_MAX && prefix.length > GCP_NAME_PREFIX_MAX) {
        add(
          ["nodePools", i, "name"],
          `pool name ${show(pool)} after cluster name ${show(clusterName)} makes the instance template prefix ${show(prefix)}, ${prefix.length} characters; above ${GCP_NAME_PREFIX_MAX}, GCP template names get a shortened, collision-prone suffix`,
          `shorten the pool name to ${GCP_NAME_PREFIX_MAX - clusterName.length - 2} characters or fewer, or kubeadm-ha:clusterName`,
        );
      }
    },
  },
);
