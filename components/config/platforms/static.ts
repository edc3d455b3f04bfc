// Hosts you own (platform static): the stack lists the machines, their addresses and zones
// (racks, rooms); the endpoint is a keepalived VIP or per-node proxies. Pure: no Pulumi imports.
import { FIX_HINTS, ParsedClusterConfig } from "../schema";
import { Add, Refuse, show } from "../problems";
import { edgeAddress, hasHostBits, hostAt, overlaps, parseCidr, sizeOf } from "../cidr";
import { checkKubeletLabels } from "../kubernetes-names";
import { CONTROL_PLANE_COUNTS, HA_MIN_ZONES, NON_HA_CONTROL_PLANE_COUNTS, zonesHoldingQuorum } from "../quorum";
import { EndpointMode, Placement, PlatformRules } from "./rules";

export const onHostsYouOwn: PlatformRules = {
  name: "static",
  makesMachines: false,
  defaultEndpointMode: "vip",
  // Machine types mean nothing for hosts you own.
  defaults: { masterMachineType: "", workerMachineType: "", bastionMachineType: "", etcdMachineType: "" },
  refuseKeys(c, endpointMode, refuse) {
    const masters = c.hosts?.masters.length;
    refuse(
      ["controlPlane", "count"],
      `on hosts you own the masters are hosts.masters${masters === undefined ? "" : ` (${masters} listed)`}`,
      "remove controlPlane.count; list the masters in hosts.masters",
    );
    refuse(["controlPlane", "machineType"], "hosts you own have the machines they have", "remove controlPlane.machineType");
    refuse(["controlPlane", "diskSizeGb"], "hosts you own have the disks they have", "remove controlPlane.diskSizeGb");
    refuse(
      ["bastion"],
      "hosts you own are reached directly or through hosts.bastion; the program makes no bastion",
      "remove kubeadm-ha:bastion (use hosts.bastion for a jump host of yours)",
    );
    refuse(["network", "natGateways"], "the program makes NAT gateways on AWS only; hosts you own use your network's way out", "remove network.natGateways");
    refuse(["sshPublicKey"], "hosts you own already have their users and keys; the program logs in with sshPrivateKey (or your SSH agent)", "remove sshPublicKey");
    if (endpointMode === "local-proxy")
      refuse(["endpoint", "interface"], `the VIP's interface is used by mode vip only (mode is ${show(endpointMode)})`, "remove endpoint.interface");
  },
  placement: (c, endpointMode, _providerConfig, add) => staticPlacement(c, endpointMode, add),
  mastersCount: { path: ["hosts", "masters"], fix: "list 3 masters (survives one failure) or 5 (survives two)" },
  etcdMembers: etcdHosts,
  checkNodeCidr: () => {},
  checkPoolName: () => {},
  ownKeys(c) {
    // The placement refuses a static stack without hosts, so it has them here.
    if (c.hosts === undefined) throw new Error("ownKeys: a static stack without hosts passed validation");
    return { platform: "static", hosts: c.hosts };
  },
};

/** External etcd on hosts you own: the machines in hosts.etcd, checked; stacked: hosts.etcd refused. */
function etcdHosts(c: ParsedClusterConfig, refuse: Refuse, add: Add): { count: number } {
  if (c.etcd.topology === "stacked") {
    refuse(["hosts", "etcd"], "etcd is stacked (a member on every master), so nothing uses these machines", "remove hosts.etcd, or set etcd.topology: external");
    return { count: 0 };
  }
  const counts = c.controlPlane.highAvailability ? CONTROL_PLANE_COUNTS : NON_HA_CONTROL_PLANE_COUNTS;
  const single = c.controlPlane.highAvailability ? "" : ", or 1 for a dev cluster";
  const listed = c.hosts?.etcd?.length;
  refuse(["etcd", "count"], `on hosts you own the members are hosts.etcd${listed === undefined ? "" : ` (${listed} listed)`}`, "remove etcd.count; list the members in hosts.etcd");
  refuse(["etcd", "machineType"], "hosts you own have the machines they have", "remove etcd.machineType");
  refuse(["etcd", "diskSizeGb"], "hosts you own have the disks they have", "remove etcd.diskSizeGb");
  const hosts = c.hosts?.etcd;
  if (c.hosts === undefined) return { count: 0 };
  if (hosts === undefined) {
    add(["hosts", "etcd"], "an external etcd on hosts you own needs its machines (missing)", FIX_HINTS["hosts.etcd"]);
    return { count: 0 };
  }
  hosts.forEach((_, i) =>
    refuse(
      ["hosts", "etcd", i, "labels"],
      "an etcd machine is not a Kubernetes node: no kubelet registers it, so no label reaches the API",
      "remove the labels of hosts.etcd entries",
    ),
  );
  if (!counts.includes(hosts.length))
    add(["hosts", "etcd"], `${hosts.length} members cannot keep an odd quorum that survives a failure`, `list 3 members (survives one failure) or 5 (survives two)${single}`);
  else if (c.controlPlane.highAvailability) {
    const zones = hosts.map((h) => h.zone);
    for (const z of zonesHoldingQuorum(zones)) {
      const n = zones.filter((x) => x === z).length;
      add(
        ["hosts", "etcd"],
        `zone ${show(z)} holds ${n} of the ${hosts.length} members, a quorum: losing it stops etcd and with it every apiserver`,
        `give each member its own zone (rack, room), at most ${Math.floor(hosts.length / 2)} of ${hosts.length} in one`,
      );
    }
  }
  return { count: hosts.length };
}

/** The hosts you own, the endpoint mode and its VIP. */
function staticPlacement(c: ParsedClusterConfig, endpointMode: EndpointMode, add: Add): Placement {
  if (c.hosts === undefined) {
    add(["hosts"], "platform static needs the machines you own (missing)", FIX_HINTS.hosts);
    return { region: "site", zones: [], count: 3 };
  }
  for (const k of ["region", "zones", "adminCidrs", "image"] as const) {
    if (c[k] !== undefined) add([k], `${k} is for GCP and AWS; static hosts already exist`, `remove kubeadm-ha:${k}`);
  }
  if (endpointMode === "cloud-lb")
    add(["endpoint", "mode"], "your own hosts have no cloud load balancer", 'use "vip" (keepalived + haproxy, hosts on one L2 segment) or "local-proxy" (haproxy on every node)');
  const nodes = [...c.hosts.masters.map((h, i) => ({ h, path: ["hosts", "masters", i] })), ...c.hosts.workers.map((h, i) => ({ h, path: ["hosts", "workers", i] }))];
  for (const { h, path } of nodes) checkKubeletLabels(h.labels, [...path, "labels"], add);
  // etcd machines are no nodes, but share the names and addresses of the hosts.
  const all = [...nodes, ...(c.hosts.etcd ?? []).map((h, i) => ({ h, path: ["hosts", "etcd", i] }))];
  const names = new Set<string>();
  const addresses = new Set<string>();
  const cidrOk = !!parseCidr(c.network.nodeCidr) && !hasHostBits(c.network.nodeCidr);
  for (const { h, path } of all) {
    if (names.has(h.name)) add([...path, "name"], `host name ${show(h.name)} is used twice`, "give every host its own name");
    if (addresses.has(h.address)) add([...path, "address"], `address ${show(h.address)} is used twice`, "give every host its own address");
    names.add(h.name);
    addresses.add(h.address);
    if (!parseCidr(`${h.address}/32`)) add([...path, "address"], `${show(h.address)} is not an IPv4 address (four octets 0-255)`, "write the host's address, e.g. 10.103.97.200");
    else if (cidrOk && !overlaps(`${h.address}/32`, c.network.nodeCidr))
      add([...path, "address"], `${show(h.address)} is outside network.nodeCidr ${show(c.network.nodeCidr)}`, "set network.nodeCidr to the hosts' subnet, e.g. 10.103.97.0/24");
    else if (cidrOk) {
      const edge = edgeAddress(h.address, c.network.nodeCidr);
      if (edge)
        add(
          [...path, "address"],
          `${show(h.address)} is the ${edge} address of network.nodeCidr ${show(c.network.nodeCidr)}, which no host can have`,
          `use the host's own address, between ${hostAt(c.network.nodeCidr, 1)} and ${hostAt(c.network.nodeCidr, sizeOf(c.network.nodeCidr) - 2)}`,
        );
    }
  }
  if (endpointMode === "vip") {
    const vip = c.endpoint.vip;
    if (vip === undefined) add(["endpoint", "vip"], "mode vip needs the virtual address (missing)", "set endpoint.vip to a free address of the hosts' subnet, e.g. 10.103.97.2");
    else if (!parseCidr(`${vip}/32`))
      add(["endpoint", "vip"], `${show(vip)} is not an IPv4 address (four octets 0-255)`, "write a free address of the hosts' subnet, e.g. 10.103.97.2");
    else if (addresses.has(vip)) add(["endpoint", "vip"], `${show(vip)} is a host's own address`, "use a free address of the hosts' subnet");
    else if (cidrOk && !overlaps(`${vip}/32`, c.network.nodeCidr))
      add(["endpoint", "vip"], `${show(vip)} is outside network.nodeCidr ${show(c.network.nodeCidr)}`, "use an address of the hosts' subnet (one L2 segment)");
    else if (cidrOk && edgeAddress(vip, c.network.nodeCidr))
      add(
        ["endpoint", "vip"],
        `${show(vip)} is the ${edgeAddress(vip, c.network.nodeCidr)} address of network.nodeCidr ${show(c.network.nodeCidr)}, which keepalived cannot hold for the hosts`,
        "use a free address between the subnet's first and last, e.g. the second one",
      );
  } else if (c.endpoint.vip !== undefined) add(["endpoint", "vip"], `a VIP is only used by mode vip (mode is ${show(endpointMode)})`, "remove endpoint.vip");
  if (c.nodePools.length) add(["nodePools"], "static workers are listed in hosts.workers, not in pools", "move them to kubeadm-ha:hosts.workers");
  const zones = [...new Set(c.hosts.masters.map((h) => h.zone))];
  if (zones.length < HA_MIN_ZONES && c.controlPlane.highAvailability && c.hosts.masters.length > 1) {
    add(
      ["hosts", "masters"],
      `an HA control plane needs its masters in three failure domains or more, got ${zones.length} (${show(zones)})`,
      "give each master its rack or room in hosts.masters[].zone (e.g. rack-a, rack-b, rack-c), or set controlPlane.highAvailability: false",
    );
  }
  return { region: "site", zones, count: c.hosts.masters.length };
}
