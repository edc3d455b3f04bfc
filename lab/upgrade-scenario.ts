// A Kubernetes upgrade of the lab's running cluster, the way a user makes one: the next
// minor's air-gapped bundle beside the old one, `kubernetes.version` and the package source
// changed in the stack, `pulumi preview`, then `pulumi up`, while a client on a worker asks
// the echo Service (and the endpoint's /readyz) the whole time. Afterwards every node,
// every control-plane component and etcd run what the new kubeadm pins, the stack records
// the release, and a change back to the old release is refused.
import { readFileSync, writeFileSync } from "fs";
import { parse, stringify } from "yaml";
import { LabCluster, stepSpans } from "./cluster";
import { checkHealthy, ClusterFacts, markCluster, masterOf, sampler, workloadSampler } from "./cluster-scenarios";
import { Sample } from "./lab";

export interface Upgraded {
  from: string;
  to: string;
  /** Seconds the new release's bundle took to build and serve. */
  bundleSeconds: number;
  /** The upgrade steps `pulumi preview` listed, in its order. */
  previewOrder: string[];
  /** The upgrade steps the up ran, in the order they started. */
  upOrder: string[];
  /** Every node (and etcd machine) fetched the release before the first upgrade step started (its step ended first). */
  fetchedFirst: boolean;
  /** The nodes whose fetch step ran. */
  fetched: string[];
  upOk: boolean;
  upSeconds: number;
  failure: string;
  /** Each upgrade step's seconds in the up, by name. */
  stepSeconds: Record<string, number>;
  /** Every node's kubelet version after the up, `node=version`. */
  kubelets: string[];
  /** Every master's control-plane images after the up, `master: component=tag ...`. */
  controlPlane: string[];
  /** kubeadm-config's kubernetesVersion after the up. */
  clusterVersion: string;
  /** The stack's kubernetesVersion output after the up. */
  recorded: string;
  /** Nodes left unschedulable after the up (none, to pass). */
  cordoned: string[];
  sameCluster: boolean;
  dataKept: boolean;
  /** The echo Service asked from a worker every half second through the up. */
  workloadRequests: number;
  workloadFailures: number;
  /** When the failed requests were sent, seconds from the up's start, and the upgrade steps running then. */
  workloadFailedAt: string[];
  /** /readyz through the endpoint from a worker, every 0.2 s through the up. */
  endpointRequests: number;
  endpointFailures: number;
  endpointFailedAt: string[];
  /** `pulumi preview` of the old release again refused, naming kubernetes.version. */
  downgradeRefused: boolean;
  downgradeMessage: string;
}

/** Each failed sample: seconds from `t0` (ms) and the steps running then (spans in epoch seconds, whole). */
function failedDuring(samples: Sample[], spans: Array<[string, { start: number; end: number }]>, t0: number): string[] {
  return samples
    .filter((x) => !x.ok)
    .map((x) => {
      const during = spans.filter(([, s]) => s.start <= Math.floor(x.t / 1000) && Math.floor(x.t / 1000) <= s.end).map(([n]) => n);
      return `${((x.t - t0) / 1000).toFixed(1)} s (${during.join(", ") || "between steps"}; exit ${x.rc ?? "?"})`;
    });
}

/** Is a step one of an upgrade's one-at-a-time steps (plan/upgrade.ts names them)? */
export const isUpgradeStep = (name: string) => /-upgrade$|-control-plane-(drain|uncordon)-/.test(name);
/** Is a step one node's fetch of the release (every node at once, before the masters)? */
export const isFetchStep = (name: string) => name.endsWith("-fetch-release");

/** Sets the stack's release and where its packages come from, in its config copy; returns the config as it was. */
function setRelease(c: LabCluster, version: string, packages: { url?: string; path?: string }): string {
  const file = c.engine.configFile(c.stack);
  const original = readFileSync(file, "utf8");
  const doc = parse(original) as { config: Record<string, { version: string; packages: { source: string; url?: string; path?: string } }> };
  const k = doc.config["kubeadm-ha:kubernetes"];
  k.version = version;
  k.packages = { source: "bundle", ...(k.packages.url !== undefined ? { url: packages.url } : { path: packages.path }) };
  writeFileSync(file, stringify(doc));
  return original;
}

/**
 * The upgrade of the lab cluster to `to`. With an external etcd: `etcdMachines`, which fetch the
 * release too, and `healthy`, the cluster's health afterwards (its members on their machines).
 */
export async function upgradeCluster(
  c: LabCluster,
  f: ClusterFacts,
  to: string,
  etcdMachines: string[] = [],
  healthy: () => Promise<unknown> = () => checkHealthy(c, f),
): Promise<Upgraded> {
  const master = masterOf(f);
  const file = c.engine.configFile(c.stack);
  const from = (parse(readFileSync(file, "utf8")) as { config: Record<string, { version: string }> }).config["kubeadm-ha:kubernetes"].version;
  const bundle = await c.bundleOf(to);
  const sameClusterAfter = await markCluster(c, master, `upgrade-${to}`);
  setRelease(c, to, bundle);

  const preview = ((await c.engine.preview(c.stack)).raw as { steps?: Array<{ op: string; urn: string }> }).steps ?? [];
  const previewOrder = [
    ...new Set(
      preview
        .filter((s) => s.op !== "same")
        .map((s) => s.urn.split("::").pop()!)
        .filter(isUpgradeStep),
    ),
  ];

  const workload = await workloadSampler(c, f, master);
  const endpoint = sampler(c, f.workers[0], `[ "$(curl -sk --max-time 2 https://${f.endpoint}/readyz)" = ok ]`, 0.2);
  const t0 = Date.now();
  const up = await c.upLogged([]);
  const upSeconds = (Date.now() - t0) / 1000;
  if (up.code === 0) await c.eventually("every node Ready and every etcd member a healthy voter after the upgrade", healthy, 300_000);
  const samples = await workload.stop();
  const probes = await endpoint.stop();
  const allSpans = Object.entries(stepSpans(up.events));
  const spans = allSpans.filter(([name]) => isUpgradeStep(name));
  const upOrder = spans.sort((a, b) => a[1].start - b[1].start).map(([name]) => name);
  const fetches = allSpans.filter(([name]) => isFetchStep(name));
  const firstUpgrade = Math.min(...spans.map(([, s]) => s.start));
  const fetchedFirst = fetches.length === f.masters.length + f.workers.length + etcdMachines.length && fetches.every(([, s]) => s.end <= firstUpgrade);

  const kubelets = (await c.kubectl(master, ["get", "nodes", "-o", 'jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion}{"\\n"}{end}']))
    .trim()
    .split("\n")
    .sort();
  const controlPlane = await Promise.all(
    f.masters.map(async (m) => {
      const images = await c.exec(m, [
        "sh",
        "-c",
        "for p in etcd kube-apiserver kube-controller-manager kube-scheduler; do printf '%s=%s ' $p \"$(sed -n 's#^ *image: .*:##p' /etc/kubernetes/manifests/$p.yaml)\"; done",
      ]);
      return `${m}: ${images.stdout.trim()}`;
    }),
  );
  const clusterVersion =
    (await c.kubectl(master, ["-n", "kube-system", "get", "configmap", "kubeadm-config", "-o", "jsonpath={.data.ClusterConfiguration}"])).match(/kubernetesVersion: *(\S+)/)?.[1] ??
    "";
  const recorded = (await c.engine.must(["stack", "output", "kubernetesVersion", "--stack", c.stack, "--non-interactive"])).trim();
  const cordoned = (await c.kubectl(master, ["get", "nodes", "-o", "jsonpath={range .items[?(@.spec.unschedulable==true)]}{.metadata.name} {end}"]))
    .trim()
    .split(" ")
    .filter(Boolean);

  // Back to the old release: refused before anything is registered (the output recorded the new one).
  const upgraded = readFileSync(file, "utf8");
  setRelease(c, from, bundle);
  const back = await c.engine.run(["preview", ...c.stackArgs()], { timeoutMs: 5 * 60_000 });
  writeFileSync(file, upgraded);
  const text = back.stdout + back.stderr;
  return {
    from,
    to,
    bundleSeconds: bundle.seconds,
    previewOrder,
    upOrder,
    fetchedFirst,
    fetched: fetches.map(([name]) => name),
    upOk: up.code === 0,
    upSeconds,
    failure: up.code === 0 ? "" : await c.failureOf(up.output, 80),
    stepSeconds: Object.fromEntries(spans.map(([name, s]) => [name, s.end - s.start])),
    kubelets,
    controlPlane,
    clusterVersion,
    recorded,
    cordoned,
    ...(await sameClusterAfter(master)),
    workloadRequests: samples.length,
    workloadFailures: samples.filter((s) => !s.ok).length,
    workloadFailedAt: failedDuring(samples, spans, t0),
    endpointRequests: probes.length,
    endpointFailures: probes.filter((s) => !s.ok).length,
    endpointFailedAt: failedDuring(probes, spans, t0),
    downgradeRefused: back.code !== 0 && text.includes(`kubeadm-ha:kubernetes.version: is "${from}", older than "${to}"`),
    downgradeMessage:
      text
        .split("\n")
        .find((l) => l.includes("kubeadm-ha:kubernetes.version"))
        ?.trim() ?? "",
  };
}

/**
 * The upgrade held: the up passed; the order it ran the steps in is the preview's; every
 * node's kubelet, every master's control plane and the cluster are on the new release;
 * the stack recorded it; no node left cordoned; same cluster, data kept, the workload
 * answered every request; the way back refused.
 */
export function upgradeHeld(u: Upgraded, masters: string[], workers: string[]): boolean {
  const want = `v${u.to}`;
  const nodes = [...masters, ...workers];
  return (
    u.upOk &&
    u.previewOrder.length > 0 &&
    u.upOrder.join() === u.previewOrder.join() &&
    u.fetchedFirst &&
    nodes.every((n) => u.kubelets.includes(`${n}=${want}`)) &&
    u.controlPlane.every((l) => ["kube-apiserver", "kube-controller-manager", "kube-scheduler"].every((p) => l.includes(`${p}=${want}`))) &&
    u.clusterVersion === want &&
    u.recorded === u.to &&
    u.cordoned.length === 0 &&
    u.sameCluster &&
    u.dataKept &&
    u.workloadFailures === 0 &&
    u.downgradeRefused
  );
}
