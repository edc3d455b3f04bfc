// The guardrails of kubeadm-ha clusters as @pulumi/policy policies. They are
// exported from here, tested directly (test/policy.test.ts) and over every shipped
// stack's render; policy/index.ts only wraps them in the PolicyPack.
//
// They read what the program writes on the cloud resources: master machines carry
// labels (GCP) or tags (AWS) saying role, etcd membership and the declared HA intent
// (components/plan/labels.ts); on hosts you own, where no cloud resource exists,
// the Cluster component's registered outputs say the same. What a cloud's resources
// look like is the cloud's to say (policy/platforms/); the rules here name no cloud.
import { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { CLUSTER_TYPE, ControlPlaneFacts, LABEL, versionOfLabel } from "../components/plan/labels";
import { APISERVER_PORT } from "../components/plan/cluster-plan";
import { compareReleases } from "../components/config/versions";
import { CloudMachine, POLICY_PLATFORMS } from "./platforms";

/** Zones (failure domains) an HA control plane must span. */
export const MIN_ZONES = 3;
/** The apiserver's readiness endpoint: true only while it can serve (etcd reachable, informers synced). */
export const READYZ = "/readyz";
/** Ports that must never be open to the internet: SSH, kube-apiserver, etcd client/peer, kubelet. */
export const PROTECTED_PORTS: ReadonlyArray<{ name: string; from: number; to: number }> = [
  { name: "SSH 22", from: 22, to: 22 },
  { name: "kube-apiserver 6443", from: APISERVER_PORT, to: APISERVER_PORT },
  { name: "etcd 2379-2380", from: 2379, to: 2380 },
  { name: "kubelet 10250", from: 10250, to: 10250 },
];
/** A master as the policies see it, from a cloud machine or the Cluster component. */
export interface MasterSeen {
  cluster: string;
  name: string;
  zone: string | undefined;
  etcdMember: boolean;
  /** What the stack declared (controlPlane.highAvailability); true unless it says otherwise. */
  highAvailability: boolean;
  /** The Kubernetes release it is configured for, when it says. */
  kubernetesVersion?: string;
  urn: string;
}

/** The resource as a cloud's machine or template of machines; undefined when it is neither. */
function machineOf(r: { type: string; props: Record<string, any> }): CloudMachine | undefined {
  for (const p of POLICY_PLATFORMS) {
    const m = p.machine(r);
    if (m) return m;
  }
  return undefined;
}

/** The resource as a cloud's master machine; undefined when it is not one. */
function masterMachineOf(r: { type: string; props: Record<string, any> }): CloudMachine | undefined {
  const m = machineOf(r);
  return m && !m.template && m.labels[LABEL.role] === "master" ? m : undefined;
}

const isMaster = (r: { type: string; props: Record<string, any> }) => masterMachineOf(r) !== undefined;

/** Every master of the stack: labelled cloud machines; on hosts you own, the Cluster component's facts. */
export function mastersOf(resources: PolicyResource[]): MasterSeen[] {
  const cloud = resources.flatMap((r): MasterSeen[] => {
    const m = masterMachineOf(r);
    if (!m) return [];
    const l = m.labels;
    return [
      {
        cluster: l[LABEL.cluster] ?? "",
        name: r.name,
        zone: m.zone,
        etcdMember: l[LABEL.etcd] === "member",
        highAvailability: l[LABEL.controlPlane] !== "not-ha",
        kubernetesVersion: versionOfLabel(l[LABEL.kubernetes]),
        urn: r.urn,
      },
    ];
  });
  const clustersWithMachines = new Set(resources.filter((r) => r.type === CLUSTER_TYPE && resources.some((x) => isMaster(x) && descendsFrom(x, r))).map((r) => r.urn));
  const declared = resources
    .filter((r) => r.type === CLUSTER_TYPE && !clustersWithMachines.has(r.urn) && r.props.controlPlane)
    .flatMap((r) => {
      const facts = r.props.controlPlane as ControlPlaneFacts;
      return facts.masters.map((m): MasterSeen => ({
        cluster: r.name,
        name: m.name,
        zone: m.zone,
        etcdMember: m.etcdMember,
        highAvailability: facts.highAvailability,
        kubernetesVersion: facts.kubernetesVersion,
        urn: r.urn,
      }));
    });
  return [...cloud, ...declared];
}

/** An external etcd's machine as the policies see it (hosts you own: the Cluster component's facts). */
export interface EtcdMachineSeen {
  cluster: string;
  name: string;
  zone: string;
  highAvailability: boolean;
  urn: string;
}

/** Every machine of an external etcd, from the Cluster components' facts. */
export function etcdMachinesOf(resources: PolicyResource[]): EtcdMachineSeen[] {
  return resources
    .filter((r) => r.type === CLUSTER_TYPE && r.props.controlPlane)
    .flatMap((r) => {
      const facts = r.props.controlPlane as ControlPlaneFacts;
      return (facts.etcdMachines ?? []).map((e): EtcdMachineSeen => ({ cluster: r.name, name: e.name, zone: e.zone, highAvailability: facts.highAvailability, urn: r.urn }));
    });
}

function descendsFrom(r: PolicyResource, ancestor: PolicyResource): boolean {
  for (let p = r.parent; p; p = p.parent) if (p.urn === ancestor.urn) return true;
  return false;
}

/** What the zone and member rules read of a master or an etcd machine. */
type MachineSeen = Pick<MasterSeen, "cluster" | "name" | "zone" | "highAvailability" | "urn">;

function byCluster<M extends { cluster: string }>(masters: M[]): Map<string, M[]> {
  const out = new Map<string, M[]>();
  for (const m of masters) out.set(m.cluster, [...(out.get(m.cluster) ?? []), m]);
  return out;
}

export const controlPlaneSpansThreeZones: StackValidationPolicy = {
  name: "control-plane-spans-three-zones",
  description:
    "The masters of an HA cluster sit in at least three zones (failure domains), and so do the machines of an external etcd, so losing one zone leaves an etcd quorum and a serving apiserver. A stack that sets controlPlane.highAvailability: false is exempt.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const groups: Array<[MachineSeen[], string, string]> = [
      [
        mastersOf(args.resources),
        "masters",
        `an HA control plane needs ${MIN_ZONES}. Put one master in each of three zones, or declare the cluster non-HA with kubeadm-ha:controlPlane.highAvailability: false.`,
      ],
      [etcdMachinesOf(args.resources), "etcd machines", `an HA etcd needs ${MIN_ZONES}. Put one etcd machine in each of three zones (kubeadm-ha:hosts.etcd[].zone).`],
    ];
    for (const [seen, what, fix] of groups) {
      for (const [cluster, machines] of byCluster(seen)) {
        if (machines.some((m) => !m.highAvailability)) continue;
        const zones = [...new Set(machines.map((m) => m.zone ?? "(no zone)"))].sort();
        if (zones.length < MIN_ZONES) report(`cluster ${cluster}: its ${machines.length} ${what} span ${zones.length} zone(s) (${zones.join(", ")}); ${fix}`, machines[0].urn);
      }
    }
  },
};

export const etcdMembersOdd: StackValidationPolicy = {
  name: "etcd-members-odd",
  description:
    "etcd has an odd number of voting members (stacked on the masters, or on machines of its own): an even count adds a machine without surviving one more failure (4 members tolerate 1 loss, like 3).",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    // Stacked: the masters that are members; external: the etcd machines.
    for (const [cluster, members] of byCluster<MachineSeen>([...mastersOf(args.resources).filter((m) => m.etcdMember), ...etcdMachinesOf(args.resources)])) {
      if (members.length % 2 === 0) {
        report(`cluster ${cluster}: etcd has ${members.length} members (${members.map((m) => m.name).join(", ")}); use an odd number, 3 or 5.`, members[0].urn);
      }
    }
  },
};

/** The health check of a kube-apiserver load balancer, or undefined when `r` is not one. */
function apiserverHealthCheck(r: PolicyResource) {
  return POLICY_PLATFORMS.map((p) => p.apiserverHealthCheck(r)).find((hc) => hc !== undefined);
}

export const apiserverHealthCheckReadyz: StackValidationPolicy = {
  name: "apiserver-health-check-readyz",
  description: `The load balancer in front of kube-apiserver checks HTTPS ${READYZ} on port ${APISERVER_PORT}: a TCP check or /livez keeps sending clients to an apiserver that has lost etcd.`,
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    for (const r of args.resources) {
      const hc = apiserverHealthCheck(r);
      if (!hc) continue;
      if (hc.protocol !== "HTTPS" || hc.path !== READYZ || hc.port !== APISERVER_PORT) {
        report(
          `${r.name}: the apiserver health check is ${hc.protocol ?? "?"} ${hc.path ?? "(no path)"} on port ${hc.port ?? "?"}; it must be HTTPS ${READYZ} on port ${APISERVER_PORT}.`,
          r.urn,
        );
      }
    }
  },
};

function exposed(ranges: Array<[number, number]>): string[] {
  return PROTECTED_PORTS.filter((p) => ranges.some(([a, b]) => a <= p.to && b >= p.from)).map((p) => p.name);
}

/** World-open ingress of one resource: the protected ports it exposes ([] when none). */
export function worldOpenPorts(type: string, props: Record<string, any>): string[] {
  return exposed(POLICY_PLATFORMS.flatMap((p) => p.worldOpenRanges(type, props)));
}

export const noWorldIngressToClusterPorts: ResourceValidationPolicy = {
  name: "no-world-ingress-to-cluster-ports",
  description: "No firewall or security-group rule opens SSH (22), kube-apiserver (6443), etcd (2379-2380) or the kubelet (10250) to 0.0.0.0/0 or ::/0.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const ports = worldOpenPorts(args.type, args.props);
    if (ports.length) report(`${args.name} opens ${[...new Set(ports)].join(", ")} to the whole internet; allow only your admin CIDRs or the cluster's own ranges.`);
  },
};

/** What marks a secret in boot data: a private key, a kubeadm token or certificate key, or a value Pulumi keeps secret. */
export const SECRET_PATTERNS: ReadonlyArray<{ what: string; re: RegExp }> = [
  { what: "a private key", re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: "a kubeadm bootstrap token", re: /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/ },
  { what: "a kubeadm certificate key", re: /certificate-?key["':= ]+[0-9a-f]{64}/i },
  // The offline render shows a Pulumi secret as "[secret]": a secret placed in boot data.
  { what: "a Pulumi secret", re: /\[secret\]/ },
];

/** The secrets (SECRET_PATTERNS' names) in a machine's or template's boot data. */
function secretsIn(m: CloudMachine): string[] {
  return SECRET_PATTERNS.filter((x) => m.bootTexts.some((t) => x.re.test(t))).map((x) => x.what);
}

export const noSecretsInMasterBootData: ResourceValidationPolicy = {
  name: "no-secrets-in-master-boot-data",
  description:
    "A master's instance metadata and user data hold no private key, bootstrap token or certificate key: anything on the node (and, without IMDS limits, any pod) can read them. Secrets reach masters over SSH.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const m = masterMachineOf(args);
    if (!m) return;
    const found = secretsIn(m);
    if (found.length) report(`${args.name}: its ${m.bootDataName} contains ${found.join(", ")}; send secrets over SSH (the bootstrap does), never in boot data.`);
  },
};

export const noSecretsInWorkerBootData: ResourceValidationPolicy = {
  name: "no-secrets-in-worker-boot-data",
  description:
    "A worker template's metadata and user data hold no bootstrap token or key: a rotation would change the template and replace every worker, and whatever reads the metadata could join nodes. Workers read the token at boot with their own identity (GCP Secret Manager, AWS SSM).",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const m = machineOf(args);
    if (!m?.template) return;
    const found = secretsIn(m);
    if (found.length)
      report(
        `${args.name}: its ${m.bootDataName} contains ${found.join(", ")}; keep the token in the secret store the workers read at boot (Secret Manager, SSM), never in a template.`,
      );
  },
};

export const encryptedDisks: ResourceValidationPolicy = {
  name: "encrypted-disks",
  description:
    "Every AWS root and data volume is encrypted (etcd's data and the PKI live on them). GCP encrypts every persistent disk at rest and cannot turn it off, so only AWS has something to check.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const plainDisks = POLICY_PLATFORMS.flatMap((p) => p.plainDisks(args.type, args.props));
    if (plainDisks.length) report(`${args.name}: ${plainDisks.join(", ")} not encrypted; set encrypted: true.`);
  },
};

/** A worker configuration as the skew rule sees it: a cloud group's template, or a worker you own. */
export interface WorkerSeen {
  cluster: string;
  name: string;
  kubernetesVersion: string;
  urn: string;
}

/** Worker templates (GCP instance templates, AWS launch templates) labelled with a release; workers you own from the Cluster component's facts. */
export function workersOf(resources: PolicyResource[]): WorkerSeen[] {
  const templates = resources.flatMap((r): WorkerSeen[] => {
    const m = machineOf(r);
    if (!m?.template) return [];
    const l = m.labels;
    const version = versionOfLabel(l[LABEL.kubernetes]);
    return l[LABEL.role] === "worker" && version ? [{ cluster: l[LABEL.cluster] ?? "", name: r.name, kubernetesVersion: version, urn: r.urn }] : [];
  });
  const owned = resources
    .filter((r) => r.type === CLUSTER_TYPE && r.props.controlPlane)
    .flatMap((r) =>
      ((r.props.controlPlane as ControlPlaneFacts).workers ?? []).map((w): WorkerSeen => ({ cluster: r.name, name: w.name, kubernetesVersion: w.kubernetesVersion, urn: r.urn })),
    );
  return [...templates, ...owned];
}

export const workersNotNewerThanControlPlane: StackValidationPolicy = {
  name: "workers-not-newer-than-control-plane",
  description:
    "No worker configuration (a worker group's template, a worker you own) is for a newer Kubernetes release than the control plane's oldest master: the version-skew policy never lets a kubelet be newer than the apiserver.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const masters = byCluster(mastersOf(args.resources));
    for (const w of workersOf(args.resources)) {
      const versions = (masters.get(w.cluster) ?? []).map((m) => m.kubernetesVersion).filter((v): v is string => v !== undefined);
      if (!versions.length) continue;
      const controlPlane = versions.sort(compareReleases)[0];
      if (compareReleases(w.kubernetesVersion, controlPlane) > 0) {
        report(
          `cluster ${w.cluster}: ${w.name} is configured for Kubernetes ${w.kubernetesVersion}, newer than its control plane's ${controlPlane}; upgrade the masters first (kubernetes.version moves them before the workers), never the workers ahead of them.`,
          w.urn,
        );
      }
    }
  },
};

export const etcdBackupsOn: StackValidationPolicy = {
  name: "etcd-backups-on",
  description:
    "An HA cluster takes scheduled etcd snapshots (backups.enabled), unless its stack says why not (backups.offReason). A cluster declared non-HA (controlPlane.highAvailability: false) is exempt.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    for (const r of args.resources.filter((x) => x.type === CLUSTER_TYPE && x.props.controlPlane)) {
      const facts = r.props.controlPlane as ControlPlaneFacts;
      const b = facts.backups;
      if (!facts.highAvailability || !b || b.enabled || b.offReason) continue;
      report(
        `cluster ${r.name}: an HA control plane without etcd backups: losing a majority of its masters, or one bad change, loses the cluster. Set kubeadm-ha:backups.enabled: true (the default), or say why not with kubeadm-ha:backups.offReason.`,
        r.urn,
      );
    }
  },
};

export const secretsEncryptedAndAudited: StackValidationPolicy = {
  name: "secrets-encrypted-and-audited",
  description: "Every cluster stores its Secrets encrypted in etcd (kubernetes.encryption.enabled) and keeps an audit log of its API (kubernetes.audit.enabled).",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    for (const r of args.resources.filter((x) => x.type === CLUSTER_TYPE && x.props.controlPlane)) {
      const facts = r.props.controlPlane as ControlPlaneFacts;
      if (facts.encryption && !facts.encryption.enabled) {
        report(
          `cluster ${r.name}: Secrets stored in etcd as plain bytes: anyone with an etcd snapshot or a master's disk reads every token and password. Set kubeadm-ha:kubernetes.encryption.enabled: true (the default).`,
          r.urn,
        );
      }
      if (facts.audit && !facts.audit.enabled) {
        report(
          `cluster ${r.name}: no audit log: who read a Secret or changed a workload cannot be told afterwards. Set kubeadm-ha:kubernetes.audit.enabled: true (the default).`,
          r.urn,
        );
      }
    }
  },
};

/** Every mandatory rule of the pack, in the order the README lists them. */
export const POLICIES: Array<ResourceValidationPolicy | StackValidationPolicy> = [
  controlPlaneSpansThreeZones,
  etcdMembersOdd,
  apiserverHealthCheckReadyz,
  noWorldIngressToClusterPorts,
  // The clouds' own: aws-imdsv2-required, gcp-shielded-vm.
  ...POLICY_PLATFORMS.flatMap((p) => p.policies),
  noSecretsInMasterBootData,
  noSecretsInWorkerBootData,
  encryptedDisks,
  workersNotNewerThanControlPlane,
  etcdBackupsOn,
  secretsEncryptedAndAudited,
];
