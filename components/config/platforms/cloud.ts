// What GCP and AWS share: the program makes the machines in a region's zones, reached
// through a bastion, behind the cloud's internal load balancer (or per-node proxies). Each
// cloud's module gives its formats and its own checks. Pure: no Pulumi imports.
import { FIX_HINTS, keyOf, ParsedClusterConfig } from "../schema";
import { Add, ConfigProblem, Refuse, show } from "../problems";
import { HA_MIN_ZONES } from "../quorum";
import { EndpointMode, MachineDefaults, Placement, PlatformName, PlatformRules } from "./rules";

/** A cloud's names and defaults. */
export interface CloudFormats {
  name: PlatformName;
  /** As messages name it: GCP, AWS. */
  title: string;
  defaults: MachineDefaults;
  region: RegExp;
  zone: RegExp;
  machineType: RegExp;
  example: { region: string; zone: string; machineType: string };
  /** The zone of `region` with letter `l` (europe-west1-b, us-east-1b). */
  zoneOf(region: string, l: string): string;
  /** Whether zone `z` (in the zone format) is in `region`. */
  inRegion(z: string, region: string): boolean;
  /** What is wrong with `image` for this cloud ([message, fix]), if anything. */
  imageProblem(image: string): [string, string] | undefined;
  /** Whether the stack must set the provider's region (`<name>:region`); else it defaults to the cluster's. */
  providerRegionRequired: boolean;
  /** Zones the cloud's subnet layout has room for (none: any number). */
  maxZones?: number;
}

/** `hosts` on a GCP or AWS stack: one problem, whatever its list lacks. */
export function problemsOfHostsOnCloud(platform: string): ConfigProblem[] {
  return [
    { key: keyOf(["hosts"]), message: `hosts are for platform static; ${platform} creates its own machines`, fix: "remove kubeadm-ha:hosts, or set kubeadm-ha:platform: static" },
  ];
}

/** The rules every cloud shares, with its formats; `own` adds or replaces the cloud's own. */
export function cloudRules(f: CloudFormats, own: Pick<PlatformRules, "checkNodeCidr" | "checkPoolName" | "ownKeys"> & { refuseKeys?: PlatformRules["refuseKeys"] }): PlatformRules {
  return {
    name: f.name,
    makesMachines: true,
    defaultEndpointMode: "cloud-lb",
    defaults: f.defaults,
    ownKeys: own.ownKeys,
    refuseKeys(c, endpointMode, refuse, add) {
      // (mode vip itself is refused by the placement, with the reason: one mistake, one problem)
      if (endpointMode !== "vip") refuseVipKeys(f.name, refuse);
      own.refuseKeys?.(c, endpointMode, refuse, add);
    },
    placement: (c, endpointMode, providerConfig, add) => cloudPlacement(f, c, endpointMode, providerConfig, add),
    mastersCount: { path: ["controlPlane", "count"], fix: "use 3 (survives one failure) or 5 (survives two)" },
    etcdMembers: () => undefined,
    checkNodeCidr: own.checkNodeCidr,
    checkPoolName: own.checkPoolName,
  };
}

function refuseVipKeys(platform: string, refuse: Refuse) {
  refuse(["endpoint", "vip"], `a VIP is for hosts you own (mode vip); on ${platform} the endpoint is the internal load balancer's address`, "remove endpoint.vip");
  refuse(
    ["endpoint", "interface"],
    `the VIP's interface is for hosts you own (mode vip); on ${platform} the endpoint is the internal load balancer's address`,
    "remove endpoint.interface",
  );
}

/** Region and zones in the cloud's formats, the provider's region, the endpoint mode. */
function cloudPlacement(f: CloudFormats, c: ParsedClusterConfig, endpointMode: EndpointMode, providerConfig: Record<string, string>, add: Add): Placement {
  if (c.region === undefined) add(["region"], "a cloud cluster needs a region (missing)", `set kubeadm-ha:region, e.g. ${f.example.region}`);
  if (c.zones === undefined) add(["zones"], "a cloud cluster needs its zones (missing)", `list three zones, e.g. [${f.example.zone}, ...]`);
  if (c.adminCidrs === undefined) add(["adminCidrs"], "the bastion needs the CIDRs allowed to reach it (missing)", FIX_HINTS.adminCidrs);
  if (c.hosts !== undefined) problemsOfHostsOnCloud(f.name).forEach((p) => add(["hosts"], p.message, p.fix));
  if (endpointMode === "vip")
    add(
      ["endpoint", "mode"],
      `"vip" needs hosts on one L2 segment: ${f.title} networks drop gratuitous ARP and VRRP, so the address would never move`,
      'use "cloud-lb" (the internal load balancer) or "local-proxy"',
    );
  const region = c.region ?? "";
  const zones = c.zones ?? [];
  // Names in the cloud's formats.
  const regionOk = f.region.test(region);
  if (!regionOk) add(["region"], `${show(region)} is not a ${f.name} region name`, `use a region such as ${f.example.region}`);
  const machineTypes: Array<[PropertyKey[], string | undefined]> = [
    [["controlPlane", "machineType"], c.controlPlane.machineType],
    [["bastion", "machineType"], c.bastion.machineType],
    ...(c.etcd.topology === "external" ? [[["etcd", "machineType"], c.etcd.machineType] as [PropertyKey[], string | undefined]] : []),
    ...c.nodePools.map((p, i): [PropertyKey[], string | undefined] => [["nodePools", i, "machineType"], p.machineType]),
  ];
  for (const [path, mt] of machineTypes) {
    if (mt !== undefined && !f.machineType.test(mt)) add(path, `${show(mt)} is not a ${f.name} machine type`, `use one such as ${f.example.machineType}`);
  }
  const imageProblem = c.image === undefined ? undefined : f.imageProblem(c.image);
  if (imageProblem) add(["image"], ...imageProblem);
  // The provider must deploy where the cluster is planned.
  const providerRegion = providerConfig[`${f.name}:region`];
  if (f.providerRegionRequired && providerRegion === undefined)
    add(["region"], `the ${f.title} provider has no region (${f.name}:region is not set)`, `set ${f.name}:region to ${region} in the stack file`);
  else if (providerRegion !== undefined && providerRegion !== region)
    add(["region"], `${show(region)} differs from the provider's ${f.name}:region ${show(providerRegion)}`, `set ${f.name}:region and kubeadm-ha:region to the same region`);

  // Zones: in the region, distinct, at least three.
  const seen = new Set<string>();
  zones.forEach((z, i) => {
    if (!f.zone.test(z)) add(["zones", i], `${show(z)} is not a ${f.name} zone name`, `use zones such as ${f.example.zone}`);
    else if (regionOk && !f.inRegion(z, region)) add(["zones", i], `zone ${show(z)} is not in region ${show(region)}`, `use zones of ${region}, e.g. ${f.zoneOf(region, "b")}`);
    if (seen.has(z)) add(["zones", i], `zone ${show(z)} is listed twice`, "list each zone once");
    seen.add(z);
  });
  if (seen.size < HA_MIN_ZONES && c.controlPlane.highAvailability) {
    const ex = (l: string) => f.zoneOf(region, l);
    add(
      ["zones"],
      `an HA control plane needs three zones or more, got ${seen.size} (${show(zones)})`,
      `list three zones of ${region}, e.g. [${ex("b")}, ${ex("c")}, ${ex("d")}], or set controlPlane.highAvailability: false for a cluster that need not survive a zone loss`,
    );
  }
  if (f.maxZones !== undefined && seen.size > f.maxZones)
    add(["zones"], `${seen.size} zones; the ${f.title} subnet layout has room for ${f.maxZones}`, `list at most ${f.maxZones} zones`);
  return { region, zones, count: c.controlPlane.count };
}
