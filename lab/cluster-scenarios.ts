// What the lab asks of a cluster that `pulumi up` built (lab/cluster.ts): healthy as a
// user sees it, serving a workload, and carrying on when a master's host is lost. Every
// check asks the cluster itself from inside its hosts: kubectl with the admin
// kubeconfig through the endpoint, curl and dig on a worker.
import { ChildProcess, spawn } from "child_process";
import { ECHO_IMAGE } from "../bundle/builds";
import { ETCD_PEER_PORT } from "../components/plan/scripts";
import { outputTail } from "../engine/pulumi";
import { LabCluster, stepSpans } from "./cluster";
import { holderNode } from "./cp-scenarios";
import { LabError, Sample } from "./lab";

/** The admin kubeconfig, copied onto a worker so clients there go through the endpoint as users' do. */
export const WORKER_ADMIN = "/root/lab-admin.conf";
const LEASES = ["kube-scheduler", "kube-controller-manager"] as const;

export interface ClusterFacts {
  masters: string[];
  workers: string[];
  /** `host:port` of the apiserver endpoint, as every node resolves it. */
  endpoint: string;
  /** The cluster DNS Service address. */
  dnsIp: string;
}

export const masterOf = (f: ClusterFacts, not: string[] = []) => {
  const m = f.masters.find((x) => !not.includes(x));
  if (!m) throw new LabError("no master left to ask");
  return m;
};

/** Who holds a Lease (`<node>_<uuid>` → node). */
export async function leaseHolder(c: LabCluster, master: string, lease: string): Promise<string> {
  return holderNode(await c.kubectl(master, ["-n", "kube-system", "get", "lease", lease, "-o", "jsonpath={.spec.holderIdentity}"]))!;
}

/** kubectl arguments that run etcdctl in a master's etcd pod, against that member. */
export const etcdctlIn = (master: string) => [
  "-n",
  "kube-system",
  "exec",
  `etcd-${master}`,
  "--",
  "etcdctl",
  "--endpoints=https://127.0.0.1:2379",
  "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
  "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
  "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key",
];

/**
 * A Node's Ready status as `from` sees it through the endpoint; "" while the endpoint does
 * not answer (a VIP moving to another master after its holder went down takes seconds).
 */
export async function readyStatus(c: LabCluster, from: string, node: string): Promise<string> {
  return c.kubectl(from, ["get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`]).then(
    (s) => s.trim(),
    () => "",
  );
}

/** etcd members seen from one master's etcd: voters, learners, and whether every one answers health. */
export async function etcdMembers(c: LabCluster, master: string): Promise<{ voters: string[]; learners: string[]; healthy: boolean }> {
  const etcdctl = etcdctlIn(master);
  const list = JSON.parse(await c.kubectl(master, [...etcdctl, "member", "list", "-w", "json"])) as { members: Array<{ name: string; isLearner?: boolean }> };
  const healthy = await c.kubectl(master, [...etcdctl, "endpoint", "health", "--cluster"]).then(
    () => true,
    () => false,
  );
  return { voters: list.members.filter((m) => !m.isLearner).map((m) => m.name), learners: list.members.filter((m) => m.isLearner).map((m) => m.name), healthy };
}

/** Every node Ready, and /readyz through the endpoint from every worker; fails saying which not. The number of nodes. */
export async function nodesAndEndpointHealthy(c: LabCluster, f: ClusterFacts): Promise<number> {
  const ready = (await c.kubectl(masterOf(f), ["get", "nodes", "-o", 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']))
    .split("\n")
    .filter(Boolean);
  const notReady = ready.filter((l) => !l.endsWith("=True"));
  if (ready.length !== f.masters.length + f.workers.length || notReady.length) throw new LabError(`nodes not all Ready: ${ready.join(", ")}`);
  for (const w of f.workers) {
    const r = await c.exec(w, ["curl", "-sk", "--max-time", "5", `https://${f.endpoint}/readyz`]);
    if (r.stdout.trim() !== "ok") throw new LabError(`/readyz through ${f.endpoint} from ${w}: ${r.stdout || r.stderr}`);
  }
  return ready.length;
}

/** Every node Ready, /readyz through the endpoint from every worker, etcd with every master a healthy voter. */
export async function checkHealthy(c: LabCluster, f: ClusterFacts): Promise<{ nodesReady: number; voters: number }> {
  const master = masterOf(f);
  const nodesReady = await nodesAndEndpointHealthy(c, f);
  const e = await etcdMembers(c, master);
  if (e.voters.length !== f.masters.length || e.learners.length || !e.healthy)
    throw new LabError(`etcd: voters ${e.voters.join(",")}, learners ${e.learners.join(",") || "none"}, healthy ${e.healthy}`);
  return { nodesReady, voters: e.voters.length };
}

/**
 * Host-network DaemonSet pods (kube-proxy) whose copy of /etc/hosts (the kubelet's
 * etc-hosts of the pod, made when it started) names another endpoint address than their
 * node's /etc/hosts does now, as "node/pod: copy vs node". Empty when none is stale.
 */
export async function staleEndpointCopies(c: LabCluster, f: ClusterFacts): Promise<string[]> {
  const name = f.endpoint.replace(/:\d+$/, "");
  const pods = JSON.parse(await c.kubectl(masterOf(f), ["get", "pods", "-A", "-o", "json"])) as {
    items: Array<{ metadata: { uid: string; name: string; ownerReferences?: Array<{ kind: string }> }; spec: { nodeName?: string; hostNetwork?: boolean } }>;
  };
  const stale: string[] = [];
  const line = (text: string) => text.split("\n").find((l) => l.endsWith(` ${name} # kubeadm-ha endpoint`)) ?? "(none)";
  for (const p of pods.items.filter((x) => x.spec.hostNetwork && x.spec.nodeName && x.metadata.ownerReferences?.[0]?.kind === "DaemonSet")) {
    const node = p.spec.nodeName!;
    const [hosts, copy] = await Promise.all([c.exec(node, ["cat", "/etc/hosts"]), c.exec(node, ["cat", `/var/lib/kubelet/pods/${p.metadata.uid}/etc-hosts`])]);
    if (copy.code !== 0) continue;
    if (line(copy.stdout) !== line(hosts.stdout)) stale.push(`${node}/${p.metadata.name}: ${line(copy.stdout)} vs ${line(hosts.stdout)}`);
  }
  return stale;
}

/** How many host-network pods each master's init or join step restarted for a stale endpoint address (from the steps' output in the stack's state). */
export async function refreshedPods(c: LabCluster, f: ClusterFacts): Promise<Record<string, number>> {
  const deployment = (await c.engine.exportStack(c.stack)).json as { deployment?: { resources?: Array<{ urn: string; outputs?: { stdout?: unknown } }> } };
  const out: Record<string, number> = {};
  for (const [i, m] of f.masters.entries()) {
    const step = (deployment.deployment?.resources ?? []).find((r) => r.urn.endsWith(`::${m}-${i === 0 ? "init" : "join"}`));
    const n = /with a stale endpoint address: (\d+) restarted/.exec(String(step?.outputs?.stdout ?? ""));
    out[m] = n ? Number(n[1]) : -1;
  }
  return out;
}

/** The zones CoreDNS's running replicas are in, one entry per replica, and how many replicas it wants. */
export async function dnsZones(c: LabCluster, f: ClusterFacts): Promise<{ replicas: number; zones: string[] }> {
  const m = masterOf(f);
  const replicas = Number(await c.kubectl(m, ["-n", "kube-system", "get", "deployment", "coredns", "-o", "jsonpath={.spec.replicas}"]));
  const nodes = (
    await c.kubectl(m, ["-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns", "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].spec.nodeName}"])
  )
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  const zones = await Promise.all(nodes.map(async (n) => (await c.kubectl(m, ["get", "node", n, "-o", "jsonpath={.metadata.labels.topology\\.kubernetes\\.io/zone}"])).trim()));
  return { replicas, zones: zones.sort() };
}

/** Copies the admin kubeconfig to the workers (root-only), for clients that go through the endpoint. */
export async function adminOnWorkers(c: LabCluster, f: ClusterFacts): Promise<void> {
  const read = await c.exec(f.masters[0], ["cat", "/etc/kubernetes/admin.conf"]);
  if (!read.stdout) throw new LabError(`could not read the admin kubeconfig on ${f.masters[0]}: ${read.stderr}`);
  // (Node's stdin is a socket, which /dev/stdin cannot be opened on: cat reads it.)
  for (const w of f.workers) {
    const r = await c.exec(w, ["sh", "-c", `umask 077 && cat > ${WORKER_ADMIN}`], read.stdout);
    if (r.code !== 0) throw new LabError(`could not copy the admin kubeconfig to ${w}: ${r.stderr}`);
  }
}

/** A Deployment of the lab's echo image behind a Service; every replica answers through the Service from a worker. */
export async function deployEcho(c: LabCluster, f: ClusterFacts): Promise<{ answered: string[]; requests: number }> {
  const [name, replicas] = ["echo", 2];
  const master = masterOf(f);
  const manifest = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          // One replica per node where it can (a lost node takes at most one).
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: name } } }],
          containers: [
            {
              name: "echo",
              image: ECHO_IMAGE,
              imagePullPolicy: "Never",
              ports: [{ containerPort: 8080 }],
              env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
              readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 1 },
              // As a user's server does when it stops: it keeps serving until every node has
              // taken it out of the Service (a drain evicts it), then exits.
              lifecycle: { preStop: { sleep: { seconds: 5 } } },
            },
          ],
        },
      },
    },
  };
  const service = { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } };
  // As a user's service has: a drain (an upgrade's) evicts a replica only while another serves.
  const budget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name, namespace: "default" },
    spec: { minAvailable: 1, selector: { matchLabels: { app: name } } },
  };
  await c.kubectl(master, ["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [manifest, service, budget] }));
  await c.kubectl(master, ["rollout", "status", `deployment/${name}`, "--timeout=180s"]);
  const ip = await c.kubectl(master, ["get", "service", name, "-o", "jsonpath={.spec.clusterIP}"]);
  const pods = (await c.kubectl(master, ["get", "pods", "-l", `app=${name}`, "-o", "jsonpath={.items[*].metadata.name}"])).split(" ").filter(Boolean);
  const answered = new Set<string>();
  let requests = 0;
  await c.waitFor(
    `every ${name} replica to answer through Service ${ip} from ${f.workers[0]}`,
    async () => {
      requests++;
      const r = await c.exec(f.workers[0], ["curl", "-s", "--max-time", "2", `http://${ip}/`]);
      const pod = /pod=(\S+)/.exec(r.stdout)?.[1];
      if (pod) answered.add(pod);
      return pods.every((p) => answered.has(p));
    },
    60_000,
  );
  return { answered: [...answered], requests };
}

type Samples = Sample[];

/** A shell loop on a host printing `<ms> ok|fail` per probe (a sampling rate, not a wait); stop() ends it (again: the same samples). */
export function sampler(c: LabCluster, host: string, probe: string, everyS = 0.2): { samples: () => Samples; stop: () => Promise<Samples> } {
  const script = `while :; do t=$(date +%s%3N); if ${probe} >/dev/null 2>&1; then echo "$t ok"; else echo "$t fail $?"; fi; sleep ${everyS}; done`;
  // Its own process group: nsenter forks into the host's PID namespace, and the loop must end with it.
  const p: ChildProcess = spawn("nsenter", [...c.hosts.nsenterArgs(host), "bash", "-c", script], { stdio: ["ignore", "pipe", "ignore"], detached: true });
  let out = "";
  p.stdout!.on("data", (d) => (out += d));
  const samples = () =>
    out
      .split("\n")
      .map((l) => /^(\d+) (ok|fail (\d+))$/.exec(l))
      .filter((m) => m !== null)
      .map((m): Sample => (m[2] === "ok" ? { t: Number(m[1]), ok: true } : { t: Number(m[1]), ok: false, rc: Number(m[3]) }));
  let stopped: Promise<Samples> | undefined;
  return {
    samples,
    stop: () =>
      (stopped ??= new Promise((resolve) => {
        p.once("close", () => resolve(samples()));
        process.kill(-p.pid!, "SIGKILL");
      })),
  };
}

/** Every sample of the last `ms` answered (and there are some). */
const steadySince = (s: Samples, ms: number) => {
  const recent = s.filter((x) => x.t >= Date.now() - ms);
  return recent.length > 0 && recent.every((x) => x.ok) && s.some((x) => x.t < Date.now() - ms);
};

/**
 * Seconds from `t0` until the probe answered and kept answering to the end of the
 * samples (0 when it never failed after t0).
 */
export function recoveredAfter(samples: Sample[], t0: number): number {
  const after = samples.filter((s) => s.t >= t0);
  const lastFail = [...after].reverse().find((s) => !s.ok);
  if (!lastFail) return 0;
  const next = after.find((s) => s.t > lastFail.t && s.ok);
  if (!next) return Number.POSITIVE_INFINITY;
  return (next.t - t0) / 1000;
}

export interface LossResult {
  lost: string;
  why: string;
  /** Seconds from the host's loss. */
  apiAnswers: number;
  dnsAnswers: number;
  /** Seconds until a write through the endpoint was acknowledged again (an etcd leader lost with the host means an election first). */
  writesAnswer: number;
  leases: Record<string, { before: string; after: string; seconds: number }>;
  /** Of 5 writes made once writes were acknowledged again, how many were (all, unless writes flap). */
  writesAfter: number;
  /** Seconds until a pod created after the loss ran (scheduler and controller-manager at work). */
  newPodRunning: number;
  /** Seconds until the host, booted again, was a Ready node and a healthy etcd voter again. */
  rejoined: number;
}

/** Deletes the write probes' ConfigMaps (`probe-*` in default), from a worker. */
export async function deleteProbeConfigMaps(c: LabCluster, worker: string): Promise<void> {
  await c.exec(worker, [
    "sh",
    "-c",
    `kubectl --kubeconfig ${WORKER_ADMIN} -n default get configmaps -o name | grep '^configmap/probe-' | xargs -r kubectl --kubeconfig ${WORKER_ADMIN} -n default delete --wait=false >/dev/null`,
  ]);
}

/** Which master to lose: one by name, or the one holding the scheduler's Lease. */
export async function pickMaster(c: LabCluster, f: ClusterFacts, which: string): Promise<{ name: string; why: string }> {
  if (which === "lease-holder") return { name: await leaseHolder(c, f.masters[0], "kube-scheduler"), why: "holds the kube-scheduler Lease" };
  if (!f.masters.includes(which)) throw new LabError(`no master ${which}`);
  return { name: which, why: which === f.masters[0] ? "ran kubeadm init" : "a joined master" };
}

/**
 * Loses a master's host at once (link down, every process killed), measures how the
 * cluster carries on from the other masters, boots the host again and waits until it
 * is back as a Ready node and a healthy etcd voter.
 */
export async function loseMaster(c: LabCluster, f: ClusterFacts, which: string, log: (s: string) => void): Promise<LossResult> {
  const { name: lost, why } = await pickMaster(c, f, which);
  const survivor = masterOf(f, [lost]);
  const worker = f.workers[0];
  const before = Object.fromEntries(await Promise.all(LEASES.map(async (l) => [l, await leaseHolder(c, survivor, l)] as const)));
  const api = sampler(c, worker, `curl -sk --max-time 1 https://${f.endpoint}/readyz | grep -qx ok`);
  // dig prints its timeouts on stdout too: only an address is an answer.
  const dns = sampler(c, worker, `dig +short +time=1 +tries=1 @${f.dnsIp} kubernetes.default.svc.cluster.local | grep -qE '^[0-9]+(\\.[0-9]+){3}$'`);
  // A write every half second: a ConfigMap named after the sample's time.
  const writes = sampler(c, worker, `kubectl --kubeconfig ${WORKER_ADMIN} --request-timeout=5s -n default create configmap "probe-$t"`, 0.5);
  await c.waitFor(
    "the API, DNS and write probes to answer before the loss",
    async () => api.samples().some((x) => x.ok) && dns.samples().some((x) => x.ok) && writes.samples().some((x) => x.ok),
    30_000,
  );
  log(`losing ${lost} (${why}); leases: ${LEASES.map((l) => `${l} on ${before[l]}`).join(", ")}`);
  const t0 = await c.hosts.crash(lost);

  // Leases: a new holder among the survivors.
  const leases: LossResult["leases"] = {};
  for (const l of LEASES) {
    let holder = before[l];
    if (holder === lost) {
      await c.waitFor(
        `a new ${l} Lease holder`,
        async () => {
          const h = await leaseHolder(c, survivor, l).catch(() => lost);
          holder = h;
          return h !== lost && h !== "";
        },
        120_000,
      );
    }
    leases[l] = { before: before[l], after: holder, seconds: holder === before[l] ? 0 : (Date.now() - t0) / 1000 };
  }
  // Writes through the endpoint from a worker once it answers again (a request already
  // on its way to the lost apiserver when it went is lost with it), and a new pod
  // scheduled and running.
  await c.waitFor("a write to be acknowledged after the loss", async () => writes.samples().some((x) => x.t > t0 && x.ok), 60_000);
  let writesAfter = 0;
  const writeErrors: string[] = [];
  for (let i = 0; i < 5; i++) {
    const at = Date.now();
    const r = await c.exec(worker, ["kubectl", "--kubeconfig", WORKER_ADMIN, "--request-timeout=5s", "create", "configmap", `after-${lost}-${t0}-${i}`, `--from-literal=i=${i}`]);
    if (r.code === 0) writesAfter++;
    else writeErrors.push(`write ${i} at ${((at - t0) / 1000).toFixed(1)} s: ${r.stderr.trim().split("\n").pop()}`);
  }
  if (writeErrors.length) log(`${lost} lost: writes refused: ${writeErrors.join("; ")}`);
  const podName = `after-${lost}-${t0}`;
  await c.eventually(
    `kubectl run ${podName} through the endpoint`,
    async () => {
      const r = await c.exec(worker, [
        "kubectl",
        "--kubeconfig",
        WORKER_ADMIN,
        "--request-timeout=5s",
        "run",
        podName,
        `--image=${ECHO_IMAGE}`,
        "--image-pull-policy=Never",
        "--restart=Never",
      ]);
      if (r.code !== 0 && !r.stderr.includes("AlreadyExists")) throw new LabError(r.stderr.trim());
    },
    60_000,
  );
  await c.waitFor(
    `pod ${podName} to run`,
    async () => (await c.exec(worker, ["kubectl", "--kubeconfig", WORKER_ADMIN, "get", "pod", podName, "-o", "jsonpath={.status.phase}"])).stdout === "Running",
    120_000,
  );
  const newPodRunning = (Date.now() - t0) / 1000;
  // Until both probes have answered every time for 10 s (DNS endpoints on the lost node go once it is NotReady).
  await c.waitFor(
    "the API and DNS to answer every probe for 10 s",
    async () => steadySince(api.samples(), 10_000) && steadySince(dns.samples(), 10_000) && Date.now() - t0 > 15_000,
    240_000,
  );
  const [apiSamples, dnsSamples, writeSamples] = await Promise.all([api.stop(), dns.stop(), writes.stop()]);
  const writesAnswer = recoveredAfter(writeSamples, t0);
  await deleteProbeConfigMaps(c, worker);
  const apiAnswers = recoveredAfter(apiSamples, t0);
  const dnsAnswers = recoveredAfter(dnsSamples, t0);
  await c.exec(worker, ["kubectl", "--kubeconfig", WORKER_ADMIN, "delete", "pod", podName, "--wait=false"]);

  log(
    `${lost} lost: API answers after ${apiAnswers.toFixed(1)} s, DNS after ${dnsAnswers.toFixed(1)} s, writes after ${writesAnswer.toFixed(1)} s (then ${writesAfter}/5 acknowledged), a new pod ran after ${newPodRunning.toFixed(1)} s; booting it again`,
  );
  const t1 = Date.now();
  await c.hosts.boot(lost);
  await c.eventually(`${lost} to be a Ready node and a healthy etcd voter again`, () => checkHealthy(c, f), 300_000);
  return { lost, why, apiAnswers, dnsAnswers, writesAnswer, leases, writesAfter, newPodRunning, rejoined: (Date.now() - t1) / 1000 };
}

export interface MemberRerun {
  /** The steps `pulumi up --replace` ran again. */
  rerun: string[];
  /** Whether that `pulumi up` succeeded, and the end of its output when it did not. */
  upOk: boolean;
  failure: string;
  /** Masters on which kubeadm ran again (its done marker rewritten): must be none. */
  kubeadmAgain: string[];
  /** etcd member IDs before and after, as `name=id`, sorted: the same when no member was re-made. */
  membersBefore: string[];
  membersAfter: string[];
}

/** The URNs of the stack's resources with these names (for `--replace`); fails unless each is there. */
export async function stepUrns(c: LabCluster, names: string[]): Promise<string[]> {
  const deployment = (await c.engine.exportStack(c.stack)).json as { deployment?: { resources?: Array<{ urn: string }> } };
  const urns = (deployment.deployment?.resources ?? []).map((r) => r.urn).filter((u) => names.includes(u.split("::").pop()!));
  if (urns.length !== names.length) throw new LabError(`the stack has ${urns.length} of the steps ${names.join(", ")}`);
  return urns;
}

/** Each master's `name=id` etcd member, from one master's etcd (IDs in hex, as etcdctl's simple output). */
async function memberIds(c: LabCluster, master: string): Promise<string[]> {
  return (await c.kubectl(master, [...etcdctlIn(master), "member", "list"]))
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(", "))
    .map(([id, , name]) => `${name}=${id}`)
    .sort();
}

/**
 * Every master's init or join step run again by the real engine (`pulumi up --replace` of
 * each, as a changed CNI version or a re-run after a failure does): on a member, the step
 * must not run kubeadm again, must not re-make an etcd member, and must pass its wait.
 */
export async function memberStepsRerun(c: LabCluster, f: ClusterFacts): Promise<MemberRerun> {
  const steps = f.masters.map((m, i) => `${m}-${i === 0 ? "init" : "join"}`);
  const urns = await stepUrns(c, steps);
  const marker = async () => Promise.all(f.masters.map(async (m) => (await c.exec(m, ["stat", "-c", "%y", "/var/lib/kubeadm-ha/member"])).stdout.trim()));
  const markersBefore = await marker();
  const membersBefore = await memberIds(c, f.masters[0]);
  const up = await c.engine.run(["up", "--yes", "--skip-preview", ...urns.flatMap((u) => ["--replace", u]), ...c.stackArgs()], { timeoutMs: 20 * 60_000 });
  const markersAfter = await marker();
  return {
    rerun: steps,
    upOk: up.code === 0,
    failure: up.code === 0 ? "" : await c.failureOf(up.stdout + up.stderr, 40),
    kubeadmAgain: f.masters.filter((_, i) => markersBefore[i] === "" || markersBefore[i] !== markersAfter[i]),
    membersBefore,
    membersAfter: await memberIds(c, f.masters[0]),
  };
}

export interface StepsWithoutMaster {
  /** The master whose host was down meanwhile. */
  down: string;
  /** The steps `pulumi up --target-replace` ran again. */
  rerun: string[];
  upOk: boolean;
  failure: string;
  /** The master the prune step says it ran on. */
  ranOn: string;
  /** The admin kubeconfig the stack outputs afterwards lists the nodes through the endpoint, from a worker. */
  kubeconfigWorks: boolean;
}

/**
 * With one master's host down (its zone lost), the steps that need any one healthy master
 * (the admin kubeconfig, pruning members) run again: `pulumi up` must find a master that
 * answers (through the VIP, or the first master that answers SSH) and pass, and the
 * kubeconfig it outputs must work. The master's host boots again afterwards.
 */
export async function controlPlaneStepsWithout(c: LabCluster, f: ClusterFacts, down: string): Promise<StepsWithoutMaster> {
  const deployment = (await c.engine.exportStack(c.stack)).json as { deployment?: { resources?: Array<{ urn: string; outputs?: { stdout?: unknown } }> } };
  const wanted = ["-control-plane-kubeconfig", "-control-plane-prune-members"];
  const urns = (deployment.deployment?.resources ?? []).map((r) => r.urn).filter((u) => wanted.some((w) => u.endsWith(w)));
  if (urns.length !== wanted.length) throw new LabError(`the stack has ${urns.length} of the steps *${wanted.join(", *")}`);
  await c.hosts.crash(down);
  try {
    await c.waitFor(`${down} to be NotReady`, async () => ["False", "Unknown"].includes(await readyStatus(c, masterOf(f, [down]), down)), 180_000);
    const up = await c.engine.run(["up", "--yes", "--skip-preview", ...urns.flatMap((u) => ["--target-replace", u]), ...c.stackArgs()], { timeoutMs: 20 * 60_000 });
    const after = (await c.engine.exportStack(c.stack)).json as typeof deployment;
    const prune = (after.deployment?.resources ?? []).find((r) => r.urn.endsWith("-control-plane-prune-members"));
    const ranOn = /\(on (\S+)\)/.exec(String(prune?.outputs?.stdout ?? ""))?.[1] ?? "";
    let kubeconfigWorks = false;
    if (up.code === 0) {
      const kubeconfig = await c.engine.must(["stack", "output", "kubeconfig", "--show-secrets", "--stack", c.stack, "--non-interactive"]);
      const path = "/root/stack-output.kubeconfig";
      const w = f.workers[0];
      const put = await c.exec(w, ["sh", "-c", `umask 077 && cat > ${path}`], kubeconfig);
      const nodes = put.code === 0 ? await c.exec(w, ["kubectl", "--kubeconfig", path, "--request-timeout=10s", "get", "nodes", "-o", "name"]) : put;
      kubeconfigWorks = nodes.code === 0 && f.masters.every((m) => nodes.stdout.includes(`node/${m}`));
      await c.exec(w, ["rm", "-f", path]);
    }
    return {
      down,
      rerun: urns.map((u) => u.split("::").pop()!),
      upOk: up.code === 0,
      failure: up.code === 0 ? "" : await c.failureOf(up.stdout + up.stderr, 40),
      ranOn,
      kubeconfigWorks,
    };
  } finally {
    await c.hosts.boot(down);
    await c.eventually(`${down} to be a Ready node and a healthy etcd voter again`, () => checkHealthy(c, f), 300_000);
  }
}

export interface MachineReplaced {
  replaced: string;
  /** `pulumi up` after the stack names the new machine: its duration (s), whether it passed, its output's end when not. */
  upSeconds: number;
  upOk: boolean;
  failure: string;
  /** The cluster is the same one: kube-system's UID, and a ConfigMap written before, unchanged. */
  sameCluster: boolean;
  dataKept: boolean;
  /** The replaced master's Node runs on the new machine; its etcd member is a new one; the others' are unchanged. */
  newMachine: boolean;
  newMember: boolean;
  othersKept: boolean;
  /** Requests to the workload's Service from a worker during the replacement, and how many failed. */
  workloadRequests: number;
  workloadFailures: number;
  /**
   * With `killJoin`: the new machine's `kubeadm join` was killed once it had written etcd's
   * manifest (its etcd member added), and `pulumi up` was run again. `killed`: it was caught
   * running; `firstUpFailed`: the interrupted up failed; `learners`: etcd's learners right
   * after the kill; the fields above describe the second up.
   */
  joinKilled?: { killed: boolean; afterSeconds: number; firstUpFailed: boolean; learners: string[] };
}

/**
 * A master's machine replaced by a new one at the same address (lab hosts: a fresh disk,
 * machine-id and host keys), and the stack told so (`hosts.masters[].machine`, through
 * `setMachine`): `pulumi up` must make the new machine join the running cluster, never
 * init another, with the workload answering and no data lost.
 */
/**
 * Marks the cluster before a change: kube-system's UID and a ConfigMap written now. The
 * function it resolves with (asked through a master) tells whether it is the same cluster
 * afterwards and the data kept.
 */
export async function markCluster(c: LabCluster, master: string, what: string): Promise<(master: string) => Promise<{ sameCluster: boolean; dataKept: boolean }>> {
  const t0 = Date.now();
  const uid = async (m: string) => (await c.kubectl(m, ["get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"])).trim();
  const marker = `before-${what}-${t0}`;
  await c.kubectl(master, ["-n", "default", "create", "configmap", marker, `--from-literal=t=${t0}`]);
  const before = await uid(master);
  return async (m) => ({
    sameCluster: (await uid(m)) === before,
    dataKept: await c.kubectl(m, ["-n", "default", "get", "configmap", marker, "-o", "jsonpath={.data.t}"]).then(
      (t) => t.trim() === String(t0),
      () => false,
    ),
  });
}

/** The echo workload's Service answering from a worker, sampled every half second until stop(). */
export async function workloadSampler(c: LabCluster, f: ClusterFacts, master: string): Promise<ReturnType<typeof sampler>> {
  const ip = (await c.kubectl(master, ["get", "service", "echo", "-o", "jsonpath={.spec.clusterIP}"])).trim();
  // A failure keeps curl's exit status (7 refused or unreachable, 28 timed out, 52/56 cut off), or 100: an answer from no pod.
  return sampler(c, f.workers[0], `( a="$(curl -s --max-time 2 http://${ip}/)" || exit; case "$a" in *pod=*) exit 0 ;; esac; exit 100 )`, 0.5);
}

export async function replaceMachine(
  c: LabCluster,
  f: ClusterFacts,
  name: string,
  setMachine: (machine: string) => void,
  opts: { killJoin?: boolean } = {},
): Promise<MachineReplaced> {
  const other = masterOf(f, [name]);
  const t0 = Date.now();
  const machineOf = async () => (await c.kubectl(other, ["get", "node", name, "-o", "jsonpath={.status.nodeInfo.machineID}"])).trim();
  const sameClusterAfter = await markCluster(c, other, `replacing-${name}`);
  const [machineBefore, membersBefore] = [await machineOf(), await memberIds(c, other)];
  const workload = await workloadSampler(c, f, other);

  await c.hosts.rebuild(name);
  // kubeadm refuses to join under the name of a Node that is still Ready: the old machine
  // must be seen gone first (its kubelet's lease runs out after the node monitor's grace).
  await c.waitFor(`the old ${name} to be NotReady`, async () => ["False", "Unknown"].includes(await readyStatus(c, other, name)), 180_000);
  setMachine(`rebuilt-${t0}`);
  let joinKilled: MachineReplaced["joinKilled"];
  if (opts.killJoin) joinKilled = await upWithJoinKilled(c, name, other);
  const t1 = Date.now();
  const up = await c.engine.run(["up", "--yes", "--skip-preview", ...c.stackArgs()], { timeoutMs: 30 * 60_000 });
  const upSeconds = (Date.now() - t1) / 1000;
  if (up.code === 0) await c.eventually(`every node Ready and every master a healthy etcd voter after replacing ${name}`, () => checkHealthy(c, f), 300_000);
  const samples = await workload.stop();
  const membersAfter = await memberIds(c, other);
  const own = (list: string[]) => list.filter((x) => x.startsWith(`${name}=`));
  const rest = (list: string[]) => list.filter((x) => !x.startsWith(`${name}=`));
  return {
    replaced: name,
    upSeconds,
    upOk: up.code === 0,
    failure: up.code === 0 ? "" : await c.failureOf(up.stdout + up.stderr, 60),
    ...(await sameClusterAfter(other)),
    newMachine: (await machineOf()) !== machineBefore,
    newMember: own(membersAfter).length === 1 && own(membersAfter)[0] !== own(membersBefore)[0],
    othersKept: rest(membersAfter).join() === rest(membersBefore).join(),
    workloadRequests: samples.filter((s) => s.t > t0).length,
    workloadFailures: samples.filter((s) => s.t > t0 && !s.ok).length,
    ...(joinKilled ? { joinKilled } : {}),
  };
}

/**
 * `pulumi up` while `kubeadm join` on `name` is killed midway: as soon as it has written
 * etcd's static pod manifest (kubeadm has added the new etcd member, a learner until it is
 * promoted), the process is killed, as a crash or a lost SSH session would end it. The up
 * must fail; the next one (the caller's) must resume it.
 */
async function upWithJoinKilled(c: LabCluster, name: string, other: string): Promise<NonNullable<MachineReplaced["joinKilled"]>> {
  const t0 = Date.now();
  const up = c.engine.run(["up", "--yes", "--skip-preview", ...c.stackArgs()], { timeoutMs: 30 * 60_000 });
  let finished = false;
  void up.then(() => (finished = true));
  let killed = false;
  await c.waitFor(
    `kubeadm join on ${name} to add its etcd member`,
    async () => {
      if (finished) return true;
      const r = await c.exec(name, ["sh", "-c", "test -f /etc/kubernetes/manifests/etcd.yaml && pkill -KILL -f '^kubeadm join --config'"]);
      killed = r.code === 0;
      return killed;
    },
    20 * 60_000,
  );
  const afterSeconds = (Date.now() - t0) / 1000;
  const first = await up;
  const learners = killed
    ? await etcdMembers(c, other).then(
        (e) => e.learners,
        () => ["(etcd did not answer)"],
      )
    : [];
  return { killed, afterSeconds, firstUpFailed: first.code !== 0, learners };
}

export interface MastersInTurn {
  /** The steps run again: every master's preparation. */
  rerun: string[];
  /** The steps `pulumi preview` of the same change lists as changing, in its order. */
  previewOrder: string[];
  /** In that preview, each master's preparation comes after the previous master's healthy step. */
  previewInTurn: boolean;
  upOk: boolean;
  failure: string;
  /** Each master's turn in the up, seconds from its start: its preparation started, its healthy step ended. */
  turns: Turn[];
  /** Every turn started after the previous master's healthy step ended. */
  inTurn: boolean;
  /** The first master's kubelet was down when its turn came; seconds from the up's start until it was started again. */
  heldBack: { master: string; kubeletBack: number };
  /** The next master's turn started only after that kubelet was back. */
  waitedForIt: boolean;
  /** Each master's /etc/hosts line for the endpoint name after the up, where it differs from before (none, to pass). */
  hostsMoved: string[];
  /** Endpoint services (haproxy, keepalived) whose process changed on some master: none, since nothing in their configs changed. */
  restarted: string[];
  /** /readyz through the endpoint from a worker during the up: probes, and how many failed. */
  endpointRequests: number;
  endpointFailures: number;
}

type Turn = { master: string; start: number; healthy: number };

/**
 * Each master's turn in an up (from its `--event-log`), seconds from `t0` (ms): its
 * preparation started, its healthy step ended; and whether each turn started after the
 * previous one's healthy step ended. Masters without both steps in the up have no turn.
 */
function turnsOf(events: Parameters<typeof stepSpans>[0], masters: string[], t0: number): { turns: Turn[]; inTurn: boolean } {
  const spans = stepSpans(events);
  const t0s = t0 / 1000;
  const turns = masters.map((m) => ({ master: m, start: (spans[`${m}-prepare`]?.start ?? NaN) - t0s, healthy: (spans[`${m}-healthy`]?.end ?? NaN) - t0s }));
  const inTurn = turns.every((t, i) => Number.isFinite(t.start) && Number.isFinite(t.healthy) && (i === 0 || t.start >= turns[i - 1].healthy));
  return { turns, inTurn };
}

/** How long the first master's kubelet stays down in mastersInTurn: a master slow to come back from its turn. */
const HELD_BACK_MS = 30_000;

/**
 * Every master's preparation run again at once (`pulumi up --replace` of each, as a changed
 * host file does), with the first master's kubelet down as its turn comes (a master slow to
 * come back, for HELD_BACK_MS): the engine must take the masters in turn, the next one only
 * after the first is healthy again, restart no endpoint service whose config is unchanged,
 * and keep the endpoint answering; the preview of the same change lists them in that order.
 */
export async function mastersInTurn(c: LabCluster, f: ClusterFacts): Promise<MastersInTurn> {
  const steps = f.masters.map((m) => `${m}-prepare`);
  const urns = await stepUrns(c, steps);
  const replace = urns.flatMap((u) => ["--replace", u]);
  const ofMasters = (name: string) => f.masters.some((m) => name === `${m}-prepare` || name === `${m}-healthy`);
  const preview = ((await c.engine.preview(c.stack, replace)).raw as { steps?: Array<{ op: string; urn: string }> }).steps ?? [];
  const previewOrder = preview
    .filter((s) => s.op !== "same")
    .map((s) => s.urn.split("::").pop()!)
    .filter(ofMasters);
  const at = (name: string) => previewOrder.indexOf(name);
  const previewInTurn = f.masters.every(
    (m, i) => at(`${m}-prepare`) >= 0 && at(`${m}-healthy`) > at(`${m}-prepare`) && (i === 0 || at(`${m}-prepare`) > at(`${f.masters[i - 1]}-healthy`)),
  );

  const services = async () => {
    const pids: string[] = [];
    for (const m of f.masters) {
      for (const unit of ["haproxy", "keepalived"]) pids.push(`${m}/${unit}=${(await c.exec(m, ["systemctl", "show", unit, "-p", "MainPID", "--value"])).stdout.trim()}`);
    }
    return pids;
  };
  const hostsLines = () => Promise.all(f.masters.map(async (m) => `${m}: ${(await c.exec(m, ["sh", "-c", "grep ' # kubeadm-ha endpoint$' /etc/hosts || true"])).stdout.trim()}`));
  const hostsBefore = await hostsLines();
  const pidsBefore = await services();
  const held = f.masters[0];
  const probe = sampler(c, f.workers[0], `[ "$(curl -sk --max-time 2 https://${f.endpoint}/readyz)" = ok ]`, 0.2);
  await c.exec(held, ["systemctl", "stop", "kubelet"]);
  const t0 = Date.now();
  let kubeletBackAt = 0;
  const back = new Promise<void>((resolve, reject) =>
    setTimeout(() => {
      kubeletBackAt = Date.now();
      c.exec(held, ["systemctl", "start", "kubelet"]).then(() => resolve(), reject);
    }, HELD_BACK_MS),
  );
  const up = await c.upLogged(replace);
  await back;
  const samples = await probe.stop();
  const pidsAfter = await services();
  const hostsMoved = (await hostsLines()).filter((l) => !hostsBefore.includes(l));
  const { turns, inTurn } = turnsOf(up.events, f.masters, t0);
  // Engine timestamps are whole seconds.
  const kubeletBack = (kubeletBackAt - t0) / 1000;
  return {
    rerun: steps,
    previewOrder,
    previewInTurn,
    upOk: up.code === 0,
    failure: up.code === 0 ? "" : await c.failureOf(up.output, 60),
    turns,
    inTurn,
    heldBack: { master: held, kubeletBack },
    waitedForIt: Number.isFinite(turns[1]?.start) && turns[1].start >= Math.floor(kubeletBack) - 1,
    hostsMoved,
    restarted: pidsAfter.filter((p) => !pidsBefore.includes(p)),
    endpointRequests: samples.length,
    endpointFailures: samples.filter((s) => !s.ok).length,
  };
}

/** What a host still holds of the cluster after its reset, as "host: what". */
/** \`pulumi destroy\`: whether it emptied the state, and what it left on the hosts (leftAfterReset). */
export async function destroyAndCheck(c: LabCluster, hosts: string[], log: (s: string) => void): Promise<{ destroyed: boolean; leftOnHosts: string[] }> {
  const d = await c.engine.run(["destroy", "--yes", ...c.stackArgs()], { timeoutMs: 20 * 60_000 });
  const left = d.code === 0 ? (((await c.engine.exportStack(c.stack)).json as { deployment?: { resources?: unknown[] } }).deployment?.resources ?? []).length : -1;
  const destroyed = d.code === 0 && left === 0;
  log(`pulumi destroy: ${destroyed ? "state empty" : `exit ${d.code}, ${left} resources left:\n${outputTail(d.stdout + d.stderr, 30)}`}`);
  const leftOnHosts = await leftAfterReset(c, hosts);
  log(`hosts after destroy: ${leftOnHosts.length ? leftOnHosts.join("; ") : "every host reset (no kubelet, containers, images, Kubernetes binaries or kubeadm-ha files)"}`);
  return { destroyed, leftOnHosts };
}

export async function leftAfterReset(c: LabCluster, hosts: string[]): Promise<string[]> {
  const checks: Array<[string, string]> = [
    ["kubelet running", "systemctl is-active --quiet kubelet"],
    ["/etc/kubernetes has files", '[ -n "$(ls -A /etc/kubernetes 2>/dev/null)" ]'],
    ["kubeadm-ha files", "ls -d /etc/kubeadm-ha /var/lib/kubeadm-ha /usr/local/sbin/kubeadm-ha-* 2>/dev/null | grep -q ."],
    ["Kubernetes binaries", "ls /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl 2>/dev/null | grep -q ."],
    ["containers", "ctr -n k8s.io containers ls -q | grep -q ."],
    ["images", "ctr -n k8s.io images ls -q | grep -q ."],
    ["KUBE- iptables rules", "iptables-save | grep -q KUBE-"],
    ["endpoint services running", "systemctl is-active --quiet haproxy || systemctl is-active --quiet keepalived"],
  ];
  const left: string[] = [];
  for (const h of hosts) {
    for (const [what, sh] of checks) if ((await c.exec(h, ["sh", "-c", sh])).code === 0) left.push(`${h}: ${what}`);
  }
  return left;
}

/** A master as the stack lists it. */
export type MasterHost = { name: string; address: string; zone: string };

export interface ScaleStep {
  /** The masters the stack listed for this up. */
  masters: string[];
  upOk: boolean;
  failure: string;
  /** The checks kubeadm's preflight refused (`[ERROR Port-2380]`), from the up's whole output, not the failure's tail. */
  preflightErrors: string[];
  seconds: number;
  /** etcd after the up: its voters and learners, and whether every member answered health. */
  voters: string[];
  learners: string[];
  etcdHealthy: boolean;
  /** The control-plane Nodes after the up. */
  nodes: string[];
  /** Hosts whose endpoint config names other apiservers than the stack's masters, as "host: what" (none, to pass). */
  endpointWrong: string[];
  /** The masters' turns in the up (preparation started -> healthy), seconds from its start, for the masters that had one. */
  turns: Turn[];
  inTurn: boolean;
}

export interface MastersScaled {
  /** The masters added, then removed again. */
  added: string[];
  /** First a grow that fails at the last spare (kubeadm's preflight refuses its join: its etcd peer port is held), after the others joined. */
  failedGrow: ScaleStep;
  /** The failed grow taken back in the stack: the spares that joined must be gone from etcd, the Node list and the endpoint. */
  reverted: ScaleStep;
  /** What the spares' hosts still hold of the cluster after the revert (none, to pass). */
  leftAfterRevert: string[];
  grow: ScaleStep;
  shrink: ScaleStep;
  /** What the removed masters' hosts still hold of the cluster after the shrink (none, to pass). */
  leftOnRemoved: string[];
  sameCluster: boolean;
  dataKept: boolean;
  /** The workload's Service from a worker, and /readyz through the endpoint, during both ups: probes, and how many failed. */
  workloadRequests: number;
  workloadFailures: number;
  endpointRequests: number;
  endpointFailures: number;
}

/**
 * What each host's endpoint config says the apiservers are, against the stack's masters:
 * haproxy's backends on every host that runs it, keepalived's unicast peers (every other
 * master) on every master that runs it. Returns the hosts that differ, as "host: what".
 */
export async function endpointMismatches(c: LabCluster, hosts: string[], masters: MasterHost[]): Promise<string[]> {
  const want = masters.map((m) => m.address).sort();
  const wrong: string[] = [];
  for (const h of hosts) {
    const haproxy = await c.exec(h, ["cat", "/etc/haproxy/haproxy.cfg"]);
    if (haproxy.code === 0 && haproxy.stdout.startsWith("# Rendered by kubeadm-ha")) {
      const backends = [...haproxy.stdout.matchAll(/^\s*server \S+ ([\d.]+):6443 /gm)].map((x) => x[1]).sort();
      if (backends.join() !== want.join()) wrong.push(`${h}: haproxy backends ${backends.join(",")}`);
    }
    const keepalived = await c.exec(h, ["cat", "/etc/keepalived/keepalived.conf"]);
    const self = masters.find((m) => m.name === h);
    if (keepalived.code === 0 && self) {
      const peers = (/unicast_peer \{([^}]*)\}/.exec(keepalived.stdout)?.[1] ?? "").split(/\s+/).filter(Boolean).sort();
      const others = want.filter((a) => a !== self.address);
      if (peers.join() !== others.join()) wrong.push(`${h}: keepalived peers ${peers.join(",")}`);
    }
  }
  return wrong;
}

/**
 * The masters 3 -> 5 -> 3, as the GCE HA design adds and removes replicas: `setMasters`
 * lists `spares` after the stack's masters, `pulumi up` must add them one at a time (each
 * a healthy etcd voter and Ready before the next begins) and every endpoint config must
 * name all five; then the stack lists its own masters again, and `pulumi up` must remove
 * the spares from etcd, the Node list and every endpoint config, and give their hosts
 * back. The workload answers throughout; no data is lost.
 */
export async function scaleMasters(
  c: LabCluster,
  f: ClusterFacts,
  masters: MasterHost[],
  spares: MasterHost[],
  setMasters: (masters: MasterHost[]) => void,
): Promise<MastersScaled> {
  const other = masterOf(f);
  const sameClusterAfter = await markCluster(c, other, "scaling");
  const workload = await workloadSampler(c, f, other);
  const endpoint = sampler(c, f.workers[0], `[ "$(curl -sk --max-time 2 https://${f.endpoint}/readyz)" = ok ]`, 0.5);
  const t0 = Date.now();
  const step = async (list: MasterHost[]): Promise<ScaleStep> => {
    setMasters(list);
    const names = list.map((m) => m.name);
    const t = Date.now();
    const up = await c.upLogged([]);
    const seconds = (Date.now() - t) / 1000;
    const now: ClusterFacts = { ...f, masters: names };
    if (up.code === 0) await c.eventually(`every node Ready and ${names.length} healthy etcd voters`, () => checkHealthy(c, now), 300_000);
    const e = await etcdMembers(c, other);
    const { turns, inTurn } = turnsOf(up.events, names, t);
    return {
      masters: names,
      upOk: up.code === 0,
      failure: up.code === 0 ? "" : await c.failureOf(up.output, 60),
      preflightErrors: [...new Set(up.output.match(/\[ERROR [^\]]+\]/g) ?? [])],
      seconds,
      voters: e.voters.sort(),
      learners: e.learners,
      etcdHealthy: e.healthy,
      nodes: (await c.kubectl(other, ["get", "nodes", "-l", "node-role.kubernetes.io/control-plane", "-o", "jsonpath={.items[*].metadata.name}"]))
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .sort(),
      endpointWrong: await endpointMismatches(c, [...names, ...f.workers], list),
      turns: turns.filter((x) => Number.isFinite(x.start)),
      inTurn,
    };
  };
  // Something on the last spare holds etcd's peer port, as a stray etcd or another
  // program would: kubeadm's preflight refuses that master's join, after the other
  // spares joined.
  const held = spares[spares.length - 1].name;
  const spareNames = spares.map((m) => m.name);
  const hold = (on: boolean) =>
    c.exec(held, on ? ["systemd-run", `--unit=${PORT_HOLDER}`, "socat", `TCP-LISTEN:${ETCD_PEER_PORT},fork,reuseaddr`, "SYSTEM:true"] : ["systemctl", "stop", PORT_HOLDER]);
  try {
    await hold(true);
    const failedGrow = await step([...masters, ...spares]);
    await hold(false);
    const reverted = await step(masters);
    const leftAfterRevert = await leftAfterReset(c, spareNames);
    const grow = await step([...masters, ...spares]);
    const shrink = await step(masters);
    const [workloadSamples, endpointSamples] = await Promise.all([workload.stop(), endpoint.stop()]);
    const during = (x: Samples) => x.filter((s) => s.t > t0);
    return {
      added: spareNames,
      failedGrow,
      reverted,
      leftAfterRevert,
      grow,
      shrink,
      leftOnRemoved: await leftAfterReset(c, spareNames),
      ...(await sameClusterAfter(other)),
      workloadRequests: during(workloadSamples).length,
      workloadFailures: during(workloadSamples).filter((s) => !s.ok).length,
      endpointRequests: during(endpointSamples).length,
      endpointFailures: during(endpointSamples).filter((s) => !s.ok).length,
    };
  } finally {
    await hold(false);
    setMasters(masters);
    await Promise.all([workload.stop(), endpoint.stop()]);
  }
}

/** The unit that holds etcd's peer port on a spare during the failed grow. */
const PORT_HOLDER = "lab-hold-etcd-peer-port";
