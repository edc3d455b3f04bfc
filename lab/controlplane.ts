// A real HA control plane in the failover lab, built by kubeadm from what the program
// renders for a hosts-you-own stack: each master's kubeadm config (init on master-0,
// control-plane join on the others, one at a time), the shared CAs made the way the
// program makes them, the endpoint's haproxy/keepalived files, and the rendered
// scripts that fill in the token and point the endpoint name. kubeadm's phases write
// the certificates, kubeconfigs and static-pod manifests; the lab runs each manifest's
// command with the real etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler built by the toolchain (no kubelet yet: it would need a container
// runtime and images, which the lab hosts of the next issue bring).
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { randomBytes } from "crypto";
import { ENCRYPTION_CONFIG, encryptionConfiguration, KEY_BYTES } from "../components/plan/encryption";
import { auditPolicyPath } from "../components/plan/audit";
import { dirname, join } from "path";
import { parse, stringify } from "yaml";
import { outputTail } from "../engine/pulumi";
import { tool } from "../toolchain/cache";
import { ENDPOINT_PATHS, LOCAL_PROXY_PORT, VIP_PROXY_PORT } from "../components/plan/onprem-endpoint";
import { discoveryHash, sharedPkiFiles } from "../components/plan/pki";
import { asHost } from "./hostfs";
import { EndpointMode, Lab, LAB_NET, LabError, LabHost, Sample } from "./lab";
import { ONPREM_NET, RenderedStack, renderedStack } from "./rendered";
import { CONTROL_PLANE_PODS, ControlPlanePod, manifestPath, manifestWritten, mirrorPod, readPodArgv } from "./staticpods";
import { makeSharedPki, randomBootstrapToken } from "./kubeadm";

export type { EndpointMode } from "./lab";
export const ENDPOINT_STACK: Record<EndpointMode, string> = { vip: "onprem-vip", "local-proxy": "onprem-local-proxy" };

const SBIN = "/usr/local/sbin";
/** Where the lab puts the filled-in kubeadm config (the machine uses /run/kubeadm-ha; the lab host keeps /etc/kubeadm-ha). */
const FILLED_CONFIG = "/etc/kubeadm-ha/run/kubeadm.yaml";
/**
 * The join workflow's phases the lab skips: the kubelet's (no kubelet runs here; the lab
 * starts the static pods itself), preflight (host checks of a real machine) and marking
 * the Node (no Node object without a kubelet).
 */
export const JOIN_SKIPPED_PHASES = ["preflight", "kubelet-start", "kubelet-wait-bootstrap", "control-plane-join/mark-control-plane", "wait-control-plane"];

export interface CpHost {
  name: string;
  host: LabHost;
  /** The host's own files: `<root>/etc/kubernetes` is its /etc/kubernetes. */
  root: string;
}
export interface CpMaster extends CpHost {
  index: number;
}

/** Files the endpoint runs on a host (only those the render gives it). */
export interface EndpointVariant {
  /** Rewrites the rendered haproxy.cfg (e.g. other tools' check timing); identity by default. */
  haproxy?: (cfg: string) => string;
  keepalived?: (cfg: string) => string;
}

export class ControlPlane {
  readonly masters: CpMaster[] = [];
  client!: CpHost;
  /** `https://<endpoint name>:<port>` as the client reaches it. */
  server!: string;
  /** The VIP (vip mode), in the lab's range. */
  vip?: string;
  /** Admin credentials (PEM files in the lab folder) and a kubeconfig for kubectl. */
  admin!: { ca: string; cert: string; key: string; kubeconfig: string };
  private rendered!: RenderedStack;

  constructor(
    readonly lab: Lab,
    readonly mode: EndpointMode,
    private readonly variant: EndpointVariant = {},
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** The discovery hash of the lab's cluster CA. */
  private caHash = "";

  /**
   * A rendered file of a machine, with the stack's addresses moved into the lab's range and
   * the discovery hash of the lab's CA where the render has its mock CA's (the program
   * derives it from the CA it made, as the lab does here).
   */
  file(machine: string, path: string): string {
    const text = this.rendered.file(machine, path).split(`${ONPREM_NET}.`).join(`${LAB_NET}.`);
    return this.caHash ? text.replace(/sha256:[0-9a-f]{64}/g, this.caHash) : text;
  }

  /** Runs `argv` as the host (its files, its namespace); fails with its output unless it exits 0. */
  async run(h: CpHost, argv: string[], what = argv.join(" "), timeoutMs = 180_000): Promise<string> {
    const r = await this.lab.exec(h.host, asHost(h.root, argv, undefined, h.name), { timeoutMs });
    if (r.code !== 0) throw new LabError(`${what} on ${h.name} failed (${r.code}):\n${outputTail(r.stdout + r.stderr, 30)}`);
    return r.stdout;
  }

  private put(h: CpHost, path: string, content: string, mode = 0o644) {
    const p = join(h.root, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content, { mode });
  }

  /** The addresses the rendered steps point the endpoint name at on a machine, in order (first: while kubeadm runs; last: afterwards). */
  private endpointAddresses(machine: string): string[] {
    const steps = this.rendered.commandScripts(machine).map((s) => this.file(machine, s));
    return steps.flatMap((text) => [...text.matchAll(/kubeadm-ha-set-endpoint (\S+)/g)].map((m) => m[1]));
  }

  private async setEndpoint(h: CpHost, address: string) {
    await this.run(h, ["env", `KUBEADM_HA_HOSTS_FILE=${h.host.hostsFile}`, join(h.root, SBIN, "kubeadm-ha-set-endpoint"), address], "kubeadm-ha-set-endpoint");
  }

  /** Builds the cluster: endpoint services, master-0 by kubeadm's init phases, then `kubeadm join` on the others, one at a time. */
  async start(): Promise<this> {
    this.rendered = await renderedStack(ENDPOINT_STACK[this.mode]);
    const outputs = this.rendered.outputs as { masters: Array<{ name: string; address: string }>; endpointAddresses: string[] };
    const octet = (a: string) => Number(a.split(".")[3]);
    for (const [index, m] of outputs.masters.entries())
      this.masters.push({ name: m.name, index, host: this.lab.addHost(m.name, octet(m.address)), root: join(this.lab.dir, m.name) });
    const worker = this.rendered.workers()[0];
    this.client = { name: worker.name, host: this.lab.addHost(worker.name, octet(worker.address)), root: join(this.lab.dir, worker.name) };

    const clusterName = this.rendered.clusterName;
    const pki = makeSharedPki(clusterName, randomBootstrapToken());
    this.caHash = discoveryHash(pki.caCert);
    for (const h of [...this.masters, this.client]) {
      for (const s of ["kubeadm-ha-render-config", "kubeadm-ha-set-endpoint"]) this.put(h, join(SBIN, s), this.file(h.name, join(SBIN, s)), 0o755);
    }
    // The apiservers' encryption config: the render's is a secret ([secret]), so the lab makes
    // its own with a key of its own, as the program's secrets step would put it in place.
    const encryption = encryptionConfiguration([{ provider: "secretbox", round: 1 }, "identity"], { 1: randomBytes(KEY_BYTES).toString("base64") });
    for (const m of this.masters) {
      for (const f of sharedPkiFiles(pki)) this.put(m, f.path, f.content, parseInt(f.mode, 8));
      this.put(m, ENCRYPTION_CONFIG, encryption, 0o600);
      this.put(m, auditPolicyPath(), this.file(m.name, auditPolicyPath()));
      const config = m.index === 0 ? "/etc/kubeadm-ha/kubeadm-init.yaml" : "/etc/kubeadm-ha/kubeadm-join.yaml";
      this.put(m, config, this.file(m.name, config));
      await this.run(m, [join(m.root, SBIN, "kubeadm-ha-render-config"), config, FILLED_CONFIG], "kubeadm-ha-render-config");
    }
    await this.startEndpointServices();
    for (const m of this.masters) await (m.index === 0 ? this.initFirst(m) : this.join(m));

    // The client: the first worker, with the endpoint name where its rendered join step points it.
    await this.setEndpoint(this.client, this.endpointAddresses(this.client.name).at(-1)!);
    const port = this.mode === "vip" ? VIP_PROXY_PORT : LOCAL_PROXY_PORT;
    this.server = `https://${this.rendered.endpointName}:${port}`;
    if (this.mode === "vip") this.vip = outputs.endpointAddresses[0].replace(`${ONPREM_NET}.`, `${LAB_NET}.`);
    this.admin = this.adminCredentials(this.masters[0]);
    await this.lab.waitFor("the endpoint to answer /readyz from the client", async () => (await this.curl(this.client, `${this.server}/readyz`)) === "ok", 60_000, 250);
    return this;
  }

  private async startEndpointServices() {
    const check = this.mode === "vip" ? this.lab.file("check-apiserver-proxy.sh", this.file(this.masters[0].name, ENDPOINT_PATHS.check), 0o755) : "";
    const onEvery = this.mode === "vip" ? this.masters : [...this.masters, this.client];
    for (const h of onEvery) await this.startHaproxy(h);
    if (this.mode === "vip") {
      for (const m of this.masters) await this.startKeepalived(m, check);
    }
  }

  async startHaproxy(h: CpHost) {
    const cfg = (this.variant.haproxy ?? ((c) => c))(this.file(h.name, ENDPOINT_PATHS.haproxy));
    await this.lab.start(h.host, "haproxy", ["haproxy", "-db", "-f", this.lab.file(`haproxy-${h.name}.cfg`, cfg)]);
  }

  async startKeepalived(m: CpMaster, check = join(this.lab.dir, "check-apiserver-proxy.sh")) {
    const conf = (this.variant.keepalived ?? ((c) => c))(this.file(m.name, ENDPOINT_PATHS.keepalived)).split(ENDPOINT_PATHS.check).join(check);
    const run = join(this.lab.dir, m.name);
    await this.lab.start(m.host, "keepalived", [
      "keepalived",
      "-n",
      "-l",
      "-D",
      "-f",
      this.lab.file(`keepalived-${m.name}.conf`, conf),
      "-p",
      `${run}.pid`,
      "-r",
      `${run}-vrrp.pid`,
      "-c",
      `${run}-checkers.pid`,
    ]);
  }

  private kubeadm(m: CpMaster, args: string[]) {
    this.log(`${m.name}: kubeadm ${args.join(" ")}`);
    return this.run(m, [tool("kubeadm"), ...args, "--config", FILLED_CONFIG], `kubeadm ${args.join(" ")}`);
  }

  private async initFirst(m: CpMaster) {
    const [during, ...rest] = this.endpointAddresses(m.name);
    await this.setEndpoint(m, during);
    for (const phase of ["certs all", "kubeconfig all", "etcd local", "control-plane all"]) await this.kubeadm(m, ["init", "phase", ...phase.split(" ")]);
    await this.startMaster(m);
    await this.kubeadm(m, ["init", "phase", "upload-config", "all"]);
    await this.kubeadm(m, ["init", "phase", "bootstrap-token"]);
    await this.postMirrorPods(m);
    if (rest.length) await this.setEndpoint(m, rest.at(-1)!);
  }

  private async join(m: CpMaster) {
    const addresses = this.endpointAddresses(m.name);
    await this.setEndpoint(m, addresses[0]);
    // kubeadm finds the etcd members through their mirror pods; post them again in case the pod GC removed them (no Node objects here).
    for (const x of this.masters.filter((x) => x.index < m.index)) await this.postMirrorPods(x);
    // kubeadm's whole join workflow but the kubelet's phases: it prepares certificates, kubeconfigs and manifests,
    // adds this member to etcd as a learner, writes its manifest and waits for it to catch up before promoting it.
    // Start etcd as soon as its manifest is there, as a kubelet would.
    let joinEnded = false;
    const join = this.kubeadm(m, ["join", "--skip-phases", JOIN_SKIPPED_PHASES.join(",")]).finally(() => (joinEnded = true));
    join.catch(() => undefined);
    await this.lab.waitFor(`kubeadm to write ${m.name}'s etcd manifest`, () => manifestWritten(m.root, "etcd") || joinEnded, 180_000, 100);
    if (manifestWritten(m.root, "etcd")) await this.startPod(m, "etcd");
    this.log(
      `${m.name}: ${(await join)
        .trim()
        .split("\n")
        .filter((l) => /etcd|control-plane|certificate/i.test(l))
        .slice(-4)
        .join(" | ")}`,
    );
    await this.startMaster(
      m,
      CONTROL_PLANE_PODS.filter((p) => p !== "etcd"),
    );
    await this.postMirrorPods(m);
    await this.setEndpoint(m, addresses.at(-1)!);
  }

  /** The command line of a master's static pod, as kubeadm wrote it. */
  podArgv(m: CpMaster, pod: ControlPlanePod): string[] {
    return readPodArgv(m.root, pod);
  }

  /** Starts a master's static pods (etcd first unless running) and waits until its apiserver is ready. */
  async startMaster(m: CpMaster, pods: readonly ControlPlanePod[] = CONTROL_PLANE_PODS) {
    for (const pod of pods) {
      this.log(`${m.name}: starting ${pod} from its static-pod manifest`);
      await this.startPod(m, pod);
      const tail = (e: unknown) => {
        throw new LabError(`${(e as Error).message}; its last output:\n${this.lab.output(m.name, pod).slice(-25).join("\n")}`);
      };
      if (pod === "etcd") await this.lab.waitFor(`etcd on ${m.name} to serve`, () => this.etcdHealthy(m), 60_000, 200).catch(tail);
      if (pod === "kube-apiserver") await this.lab.waitFor(`kube-apiserver on ${m.name} to be ready`, () => this.apiserverReady(m), 120_000, 250).catch(tail);
    }
  }

  /** Runs one static pod's command as the master (no wait). */
  async startPod(m: CpMaster, pod: ControlPlanePod) {
    const argv = readPodArgv(m.root, pod);
    await this.lab.start(m.host, pod, asHost(m.root, [tool(argv[0]), ...argv.slice(1)], undefined, m.name));
  }

  /** etcdctl as the master, against its own member, with kubeadm's healthcheck client certificate. */
  private etcdctl(m: CpMaster, args: string[], timeout: string) {
    const pki = "/etc/kubernetes/pki/etcd";
    const argv = [
      tool("etcdctl"),
      "--endpoints",
      "https://127.0.0.1:2379",
      "--cacert",
      `${pki}/ca.crt`,
      "--cert",
      `${pki}/healthcheck-client.crt`,
      "--key",
      `${pki}/healthcheck-client.key`,
      "--command-timeout",
      timeout,
      "--dial-timeout",
      timeout,
      ...args,
    ];
    return this.lab.exec(m.host, asHost(m.root, argv), { timeoutMs: 5000 });
  }

  async etcdHealthy(m: CpMaster): Promise<boolean> {
    return (await this.etcdctl(m, ["endpoint", "health"], "2s")).code === 0;
  }

  /** The master's own kube-apiserver answers /readyz with ok. */
  async apiserverReady(m: CpMaster): Promise<boolean> {
    return (await this.curl(m, `https://${m.host.address}:6443/readyz`)) === "ok";
  }

  /** GET a URL from a host (TLS not verified: a readiness probe); the body, or "" on failure. */
  async curl(h: CpHost, url: string): Promise<string> {
    const r = await this.lab.exec(h.host, ["curl", "-sk", "--max-time", "2", url], { timeoutMs: 5000 });
    return r.code === 0 ? r.stdout.trim() : "";
  }

  /** Posts the mirror pods of a master's static pods (what its kubelet would do). */
  private async postMirrorPods(m: CpMaster) {
    for (const pod of CONTROL_PLANE_PODS) {
      const doc = stringify(mirrorPod(readFileSync(manifestPath(m.root, pod), "utf8"), m.name));
      const r = await this.lab.exec(m.host, asHost(m.root, [tool("kubectl"), "--kubeconfig", "/etc/kubernetes/admin.conf", "apply", "-f", "-"]), { input: doc, timeoutMs: 30_000 });
      if (r.code !== 0) throw new LabError(`posting the ${pod} mirror pod of ${m.name} failed: ${r.stderr}`);
    }
  }

  private adminCredentials(m: CpMaster) {
    const conf = readFileSync(join(m.root, "etc/kubernetes/admin.conf"), "utf8");
    const kc = parse(conf) as {
      clusters: Array<{ cluster: { "certificate-authority-data": string; server: string } }>;
      users: Array<{ user: { "client-certificate-data": string; "client-key-data": string } }>;
    };
    const b64 = (s: string) => Buffer.from(s, "base64").toString();
    const kubeconfig = this.lab.file("admin.conf", conf, 0o600);
    return {
      ca: this.lab.file("admin-ca.crt", b64(kc.clusters[0].cluster["certificate-authority-data"])),
      cert: this.lab.file("admin.crt", b64(kc.users[0].user["client-certificate-data"])),
      key: this.lab.file("admin.key", b64(kc.users[0].user["client-key-data"]), 0o600),
      kubeconfig,
    };
  }

  /** kubectl on the client, through the endpoint, with the admin kubeconfig kubeadm wrote. */
  kubectl(args: string[], input?: string) {
    return this.lab.exec(this.client.host, [tool("kubectl"), "--kubeconfig", this.admin.kubeconfig, "--request-timeout", "5s", ...args], { input, timeoutMs: 20_000 });
  }

  /** Runs lab/apiclient.js on the client for `durationMs`; resolves with what it printed (parsed). */
  async apiclient<T>(mode: "writes" | "leases" | "list", durationMs = 0, intervalMs = 0, prefix = "lab"): Promise<T> {
    const r = await this.lab.exec(
      this.client.host,
      [process.execPath, join(__dirname, "apiclient.js"), mode, this.server, this.admin.ca, this.admin.cert, this.admin.key, String(durationMs), String(intervalMs), prefix],
      { timeoutMs: durationMs + 30_000 },
    );
    if (r.code !== 0) throw new LabError(`apiclient ${mode} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** The client's readiness probe of the endpoint (lab/probe.js), running until stopped. */
  readyzSampler() {
    const s = this.lab.sampler<Array<[number, number]>>(this.client.host, [process.execPath, join(__dirname, "probe.js"), `${this.server}/readyz`, "0", "100", "1000"]);
    return { started: s.started, okSince: s.okSince, stop: async (): Promise<Sample[]> => (await s.stop()).map(([t, ok]) => ({ t, ok: ok === 1 })) };
  }

  /** lab/apiclient.js on the client, sampling every `intervalMs` until stopped. */
  apiclientSampler<T>(mode: "writes" | "leases", intervalMs: number, prefix = "lab") {
    return this.lab.sampler<T>(this.client.host, [
      process.execPath,
      join(__dirname, "apiclient.js"),
      mode,
      this.server,
      this.admin.ca,
      this.admin.cert,
      this.admin.key,
      "0",
      String(intervalMs),
      prefix,
    ]);
  }

  /** The node holding each control-plane Lease now (null when unreadable). */
  async leaseHolders(): Promise<Record<"kube-scheduler" | "kube-controller-manager", string | null>> {
    const [[, s, k]] = await this.apiclient<Array<[number, string | null, string | null]>>("leases", 1, 1000);
    const node = (id: string | null) => id?.split("_")[0] ?? null;
    return { "kube-scheduler": node(s), "kube-controller-manager": node(k) };
  }

  /** How many ConfigMaps whose name starts with `prefix` the cluster has. */
  async countConfigMaps(prefix: string): Promise<number> {
    return (await this.apiclient<string[]>("list", 0, 0, prefix)).length;
  }

  /** The master whose etcd member leads, asking only `among` (each about itself). */
  async etcdLeader(among: CpMaster[]): Promise<CpMaster | undefined> {
    for (const m of among) {
      const r = await this.etcdctl(m, ["endpoint", "status", "-w", "json"], "500ms");
      if (r.code !== 0) continue;
      const [row] = JSON.parse(r.stdout) as Array<{ Status: { header: { member_id: number }; leader: number } }>;
      if (row && row.Status.leader === row.Status.header.member_id) return m;
    }
    return undefined;
  }

  /** Brings a lost master back: link up, its endpoint services and static pods again, on the data it had. */
  async restore(m: CpMaster) {
    this.lab.nsRun(m.host.ns, ["ip", "link", "set", "eth0", "up"]);
    await this.startHaproxy(m);
    if (this.mode === "vip") await this.startKeepalived(m);
    await this.startMaster(m);
  }
}
