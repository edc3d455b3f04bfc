// A cluster's lifetime on the lab's running cluster: its control-plane certificates renewed
// (by `pulumi up`, and by each master's timer) while a worker asks the echo Service and the
// endpoint's /readyz, and its bootstrap token rotated with a new worker joining on it.
//
// The lab stacks issue certificates valid for 2 hours and renew them 30 minutes before they
// run out. A lab run is shorter than that, so the time a real cluster waits for is stood in
// for by widening the window, the way an operator can: the stack's renewBefore for the
// `pulumi up` (every certificate is then inside it), and a runtime systemd drop-in for the
// timer's service (KUBEADM_HA_RENEW_BEFORE_S, removed afterwards). Everything else is what
// a production cluster runs: kubeadm's renewal, the static pods restarted, the Lease.
import { X509Certificate } from "crypto";
import { readFileSync, writeFileSync } from "fs";
import { parse, stringify } from "yaml";
import { LabCluster, stepSpans } from "./cluster";
import { ClusterFacts, markCluster, masterOf, sampler, workloadSampler } from "./cluster-scenarios";
import { CERTIFICATES_CONFIG, CERTIFICATES_UNIT } from "../components/plan/certificates";
import { durationSeconds, durationText } from "../components/config/durations";

export interface Renewal {
  /** Each master's earliest certificate expiry (epoch s) before and after, `master: before -> after`. */
  expiries: Record<string, { before: number; after: number }>;
  /** Where each master's renewal started and ended (epoch s), in the order they ran. */
  turns: Array<{ master: string; start: number; end: number }>;
  ok: boolean;
  failure: string;
  workloadRequests: number;
  workloadFailures: number;
  endpointRequests: number;
  endpointFailures: number;
  seconds: number;
}

export interface CertificatesRenewed {
  /** The validity the stack sets, seconds, and the longest a master's certificate had left after `pulumi up` made it. */
  validity: number;
  issuedWithin: boolean;
  /** Every master's timer enabled and waiting. */
  timersOn: string[];
  /** `pulumi preview` listed each master's certificates step and the kubeconfig's for replacement. */
  previewListed: string[];
  byUp: Renewal;
  /** The `certificates` output's expiry before and after the renewing up. */
  outputBefore: string;
  outputAfter: string;
  /** The exported admin kubeconfig's client certificate expiry before and after (epoch s). */
  kubeconfigBefore: number;
  kubeconfigAfter: number;
  byTimer: Renewal;
  sameCluster: boolean;
  dataKept: boolean;
}

/** The earliest expiry (epoch s) of a machine's certificates, as kubeadm reads them with `config` (a master's, an etcd machine's). */
const earliest = async (c: LabCluster, machine: string, config: string): Promise<number> => {
  const r = await c.exec(machine, [
    "sh",
    "-c",
    `kubeadm certs check-expiration --config ${config} -o json | jq -r '[.certificates[] | select(.missing != true)] | min_by(.residualTime) | .expirationDate'`,
  ]);
  const t = Date.parse(r.stdout.trim());
  if (Number.isNaN(t)) throw new Error(`no certificate expiry on ${machine}: ${r.stdout} ${r.stderr}`);
  return t / 1000;
};

const expiriesOf = async (c: LabCluster, machines: string[], config = CERTIFICATES_CONFIG) =>
  Object.fromEntries(await Promise.all(machines.map(async (m) => [m, await earliest(c, m, config)] as const)));

/** The client certificate's expiry (epoch s) in a kubeconfig. */
function kubeconfigExpiry(kubeconfig: string): number {
  const data = /client-certificate-data: *(\S+)/.exec(kubeconfig)?.[1];
  return data ? Date.parse(new X509Certificate(Buffer.from(data, "base64")).validTo) / 1000 : NaN;
}

function certificatesConfig(c: LabCluster): { file: string; doc: { config: Record<string, Record<string, unknown>> } } {
  const file = c.engine.configFile(c.stack);
  return { file, doc: parse(readFileSync(file, "utf8")) };
}

/** Runs `during` while a worker asks the echo Service and /readyz through the endpoint. */
async function sampled<T>(c: LabCluster, f: ClusterFacts, during: () => Promise<T>) {
  const workload = await workloadSampler(c, f, masterOf(f));
  const endpoint = sampler(c, f.workers[0], `[ "$(curl -sk --max-time 2 https://${f.endpoint}/readyz)" = ok ]`, 0.2);
  const t0 = Date.now();
  const value = await during();
  const seconds = (Date.now() - t0) / 1000;
  const w = await workload.stop();
  const e = await endpoint.stop();
  return {
    value,
    seconds,
    workloadRequests: w.length,
    workloadFailures: w.filter((s) => !s.ok).length,
    endpointRequests: e.length,
    endpointFailures: e.filter((s) => !s.ok).length,
  };
}

export async function renewCertificates(c: LabCluster, f: ClusterFacts): Promise<CertificatesRenewed> {
  const master = masterOf(f);
  const { file, doc } = certificatesConfig(c);
  const original = readFileSync(file, "utf8");
  const certs = (doc.config["kubeadm-ha:kubernetes"].certificates ?? {}) as { validity: string; renewBefore: string };
  const validity = durationSeconds(certs.validity)!;
  const sameClusterAfter = await markCluster(c, master, "certificates");

  // What `pulumi up` issued: within the stack's validity, every timer on.
  const issued = await expiriesOf(c, f.masters);
  const now = Date.now() / 1000;
  const issuedWithin = Object.values(issued).every((e) => e > now && e <= now + validity);
  const timersOn = (
    await Promise.all(f.masters.map(async (m) => ((await c.exec(m, ["systemctl", "is-active", `${CERTIFICATES_UNIT}.timer`])).stdout.trim() === "active" ? [m] : [])))
  ).flat();

  // By `pulumi up`: the stack's window widened to take in every certificate (issued at least
  // a few minutes ago) makes this up's renewal round; each master renews in turn.
  const output = async () =>
    JSON.parse((await c.engine.must(["stack", "output", "certificates", "--json", "--stack", c.stack, "--non-interactive"])).trim() || "{}") as { expires?: string };
  const kubeconfig = async () => (await c.engine.must(["stack", "output", "kubeconfig", "--show-secrets", "--stack", c.stack, "--non-interactive"])).trim();
  const outputBefore = (await output()).expires ?? "";
  const kubeconfigBefore = kubeconfigExpiry(await kubeconfig());
  doc.config["kubeadm-ha:kubernetes"].certificates = { ...certs, renewBefore: durationText(validity - 60) };
  writeFileSync(file, stringify(doc));
  const preview = ((await c.engine.preview(c.stack)).raw as { steps?: Array<{ op: string; urn: string }> }).steps ?? [];
  const previewListed = preview.filter((s) => s.op !== "same" && /-(certificates|control-plane-kubeconfig)$/.test(s.urn)).map((s) => s.urn.split("::").pop()!);
  const before = await expiriesOf(c, f.masters);
  const up = await sampled(c, f, () => c.upLogged([]));
  const spans = Object.entries(stepSpans(up.value.events)).filter(([n]) => n.endsWith("-certificates"));
  const byUp: Renewal = {
    expiries: Object.fromEntries(Object.entries(await expiriesOf(c, f.masters)).map(([m, after]) => [m, { before: before[m], after }])),
    turns: spans.map(([n, s]) => ({ master: n.replace(/-certificates$/, ""), start: s.start, end: s.end })).sort((a, b) => a.start - b.start),
    ok: up.value.code === 0,
    failure: up.value.code === 0 ? "" : await c.failureOf(up.value.output, 60),
    ...up,
  };
  const outputAfter = (await output()).expires ?? "";
  const kubeconfigAfter = kubeconfigExpiry(await kubeconfig());
  // The stack's window as it was (an up that changes only the timers' period and the script).
  writeFileSync(file, original);
  await c.engine.must(["up", "--yes", "--skip-preview", ...c.stackArgs()], { timeoutMs: 20 * 60_000 });

  const byTimer = await renewByTimers(c, f, f.masters, CERTIFICATES_CONFIG, validity);
  return { validity, issuedWithin, timersOn, previewListed, byUp, outputBefore, outputAfter, kubeconfigBefore, kubeconfigAfter, byTimer, ...(await sameClusterAfter(master)) };
}

/**
 * By each machine's timer (the masters', or an external etcd's machines', `config` being the
 * kubeadm config their script reads): a runtime drop-in widens the window past the validity;
 * every machine's service starts at once, and one machine at a time renews (the masters' Lease,
 * the etcd machines' lock in etcd), while a workload and the endpoint are sampled.
 */
export async function renewByTimers(c: LabCluster, f: ClusterFacts, machines: string[], config: string, validity: number): Promise<Renewal> {
  const dropIn = `/run/systemd/system/${CERTIFICATES_UNIT}.service.d`;
  await Promise.all(
    machines.map((m) =>
      c.exec(m, [
        "sh",
        "-c",
        `mkdir -p ${dropIn} && printf '[Service]\\nEnvironment=KUBEADM_HA_RENEW_BEFORE_S=${validity + 3600}\\n' > ${dropIn}/lab.conf && systemctl daemon-reload`,
      ]),
    ),
  );
  const before = await expiriesOf(c, machines, config);
  const since = new Date().toISOString().replace("T", " ").slice(0, 19);
  const timer = await sampled(c, f, () => Promise.all(machines.map((m) => c.exec(m, ["systemctl", "start", `${CERTIFICATES_UNIT}.service`]))));
  await Promise.all(machines.map((m) => c.exec(m, ["sh", "-c", `rm -rf ${dropIn} && systemctl daemon-reload`])));
  const turns = await Promise.all(
    machines.map(async (m) => {
      const log = (await c.exec(m, ["journalctl", "-u", `${CERTIFICATES_UNIT}.service`, "--since", since, "--utc", "-o", "cat", "--no-pager"])).stdout;
      const at = (what: string) => Number(new RegExp(`renewing ${what} at (\\d+)`).exec(log)?.[1] ?? NaN);
      return { master: m, start: at("started"), end: at("finished") };
    }),
  );
  const failed = timer.value.filter((r) => r.code !== 0).map((r) => r.stderr.trim());
  return {
    expiries: Object.fromEntries(Object.entries(await expiriesOf(c, machines, config)).map(([m, after]) => [m, { before: before[m], after }])),
    turns: turns.sort((a, b) => a.start - b.start),
    ok: failed.length === 0,
    failure: failed.join("\n"),
    ...timer,
  };
}

/** Every master renewed (a later expiry), one at a time (no two turns overlap), the up and the services passed. */
export function renewalHeld(r: Renewal, masters: string[]): boolean {
  const inTurn = r.turns.every((t, i) => i === 0 || r.turns[i - 1].end <= t.start);
  return r.ok && r.turns.length === masters.length && inTurn && masters.every((m) => r.expiries[m] && r.expiries[m].after > r.expiries[m].before);
}

export function certificatesHeld(x: CertificatesRenewed, masters: string[]): boolean {
  return (
    x.issuedWithin &&
    x.timersOn.length === masters.length &&
    masters.every((m) => x.previewListed.includes(`${m}-certificates`)) &&
    x.previewListed.some((n) => n.endsWith("-control-plane-kubeconfig")) &&
    renewalHeld(x.byUp, masters) &&
    Date.parse(x.outputAfter) > Date.parse(x.outputBefore) &&
    x.kubeconfigAfter > x.kubeconfigBefore &&
    renewalHeld(x.byTimer, masters) &&
    x.sameCluster &&
    x.dataKept
  );
}

export interface TokenRotated {
  /** This program's tokens in the cluster before and after (ids). */
  before: string[];
  after: string[];
  /** The `bootstrapToken` output before and after. */
  outputBefore: { round?: number; expires?: string };
  outputAfter: { round?: number; expires?: string };
  /** The worker taken out and joined again on the new token. */
  worker: string;
  removedOk: boolean;
  upOk: boolean;
  failure: string;
  upSeconds: number;
  /** The bootstrap identity of the worker's new kubelet's certificate request: system:bootstrap:<token id>. */
  joinedWith: string;
  workerReady: boolean;
}

/** This program's bootstrap tokens in the cluster: their ids. */
async function ourTokens(c: LabCluster, master: string): Promise<string[]> {
  const out = await c.kubectl(master, ["-n", "kube-system", "get", "secrets", "--field-selector", "type=bootstrap.kubernetes.io/token", "-o", "json"]);
  const items = (JSON.parse(out) as { items: Array<{ data: Record<string, string> }> }).items;
  const b64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8");
  return items
    .filter((i) => b64(i.data.description).startsWith("kubeadm-ha:"))
    .map((i) => b64(i.data["token-id"]))
    .sort();
}

/**
 * The token rotated (its random resources replaced, as `pulumi up --replace` does for a token
 * that leaked) in the same up that a worker you own joins again: the worker, taken out of the
 * stack first, joins on the new token, and the old one is gone.
 */
export async function rotateToken(c: LabCluster, f: ClusterFacts, setWorkers: (names: string[]) => string): Promise<TokenRotated> {
  const master = masterOf(f);
  const worker = f.workers[f.workers.length - 1];
  const output = async () => JSON.parse((await c.engine.must(["stack", "output", "bootstrapToken", "--json", "--stack", c.stack, "--non-interactive"])).trim() || "{}");
  const before = await ourTokens(c, master);
  const outputBefore = await output();
  const original = setWorkers(f.workers.filter((w) => w !== worker));
  const removed = await c.engine.run(["up", "--yes", "--skip-preview", ...c.stackArgs()], { timeoutMs: 20 * 60_000 });
  writeFileSync(c.engine.configFile(c.stack), original);
  const state = (await c.engine.exportStack(c.stack)).json as { deployment?: { resources?: Array<{ urn: string; type: string }> } };
  const tokenUrns = (state.deployment?.resources ?? [])
    .filter((r) => r.type === "random:index/randomPassword:RandomPassword" && /-token-(id|secret)$/.test(r.urn))
    .map((r) => r.urn);
  const t0 = Date.now();
  const up = await c.upLogged(tokenUrns.flatMap((u) => ["--replace", u]));
  const upSeconds = (Date.now() - t0) / 1000;
  const after = await ourTokens(c, master);
  const csrs = await c.kubectl(master, ["get", "csr", "-o", "json"]);
  const requests = (JSON.parse(csrs) as { items: Array<{ spec: { username: string }; metadata: { creationTimestamp: string } }> }).items
    .filter((i) => i.spec.username.startsWith("system:bootstrap:") && Date.parse(i.metadata.creationTimestamp) >= t0 - 5000)
    .map((i) => i.spec.username);
  const ready = (await c.kubectl(master, ["get", "node", worker, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).catch(() => "")).trim();
  return {
    before,
    after,
    outputBefore,
    outputAfter: await output(),
    worker,
    removedOk: removed.code === 0,
    upOk: up.code === 0,
    failure: up.code === 0 ? "" : await c.failureOf(up.output, 60),
    upSeconds,
    joinedWith: requests.join(", "),
    workerReady: ready === "True",
  };
}

export function tokenHeld(t: TokenRotated): boolean {
  return (
    t.removedOk &&
    t.upOk &&
    t.before.length === 1 &&
    t.after.length === 1 &&
    t.after[0] !== t.before[0] &&
    t.joinedWith === `system:bootstrap:${t.after[0]}` &&
    t.workerReady &&
    typeof t.outputAfter.expires === "string" &&
    Date.parse(t.outputAfter.expires) > Date.parse(t.outputBefore.expires ?? "")
  );
}
