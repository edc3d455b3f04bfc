// Tier 0: the real kubeadm (built by `npm run toolchain`) reads every kubeadm config the
// program renders. For each shipped cluster stack: each config, filled on the machine by
// the rendered script that fills it (token file; cloud workers: their boot script with a
// metadata-server stand-in), passes `kubeadm config validate`; a misspelt field fails it;
// and with the shared PKI made as the program makes it, kubeadm's init phases write
// certificates, kubeconfigs and static pod manifests that keep the program's promises.
// kubeadm runs as a lab host (lab/hostfs.ts): this machine's /etc/kubernetes is untouched.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  certificateAt,
  clusterStacks,
  ClusterRender,
  extraArgFlags,
  fillKubeadmConfig,
  FilledConfig,
  hostFile,
  hostFileExists,
  kubeadmPhases,
  kubeadmValidate,
  kubeconfigServer,
  NodeIdentity,
  PLACEHOLDERS,
  renderCluster,
  RenderedKubeadmConfig,
  renderedKubeadmConfigs,
  Run,
  stackConfig,
  subjectAltNames,
  tokenFileUnder,
  writeSharedPki,
  yamlDocs,
} from "../lab/kubeadm";
import { CA_VALIDITY_HOURS, KEY_SPEC, sharedCaSpecs } from "../lab/pki";
import { SharedPki, sharedPkiFiles } from "../components/plan/pki";
import { removeMountPoints } from "../lab/hostfs";
import { podArgv } from "../lab/staticpods";
import { toolchainSkip } from "./helpers";

const NOT_ROOT =
  typeof process.getuid === "function" && process.getuid() !== 0
    ? "needs root: kubeadm and the workers' boot scripts run as lab hosts in private mount namespaces (lab/hostfs.ts)"
    : undefined;
/** Why these tests cannot run here; undefined when they can. */
const SKIP = toolchainSkip(["kubeadm"]) || NOT_ROOT;
const STACKS = clusterStacks();
const WORK = mkdtempSync(join(tmpdir(), "kubeadm-tier0-"));

after(() => {
  removeMountPoints();
  if (process.env.KUBEADM_HA_KEEP_LAB) console.log(`kept ${WORK}`);
  else rmSync(WORK, { recursive: true, force: true });
});

// Start every render at once (at most one per core run side by side); each test awaits its own.
if (!SKIP) for (const s of STACKS) void renderCluster(s);

interface Filled extends FilledConfig {
  cfg: RenderedKubeadmConfig;
  text: string;
}

interface Prepared {
  render: ClusterRender;
  configs: RenderedKubeadmConfig[];
  /** The host master-0 becomes: shared PKI and token file laid out by sharedPkiFiles. */
  root: string;
  pki: SharedPki;
  filled: Filled[];
  init: Filled;
  cluster: any;
}

/** The name and address a cloud worker's metadata server would give it. */
function cloudIdentity(r: ClusterRender, cfg: RenderedKubeadmConfig): NodeIdentity {
  const master0 = r.outputs.masters[0].address as string;
  const ip = master0.replace(/\.\d+$/, ".40");
  return (r.config.platform ?? "gcp") === "aws" ? { name: "i-0a1b2c3d4e5f60718", ip, region: r.config.region } : { name: `${cfg.machine}-b-x7k2`, ip };
}

const prepared = new Map<string, Promise<Prepared>>();
function prepare(stack: string): Promise<Prepared> {
  if (!prepared.has(stack)) {
    prepared.set(
      stack,
      (async () => {
        const render = await renderCluster(stack);
        const configs = await renderedKubeadmConfigs(stack);
        const initCfg = configs.find((c) => c.role === "init");
        assert.ok(initCfg, `${stack}: no init config rendered`);
        const cluster = yamlDocs(initCfg.content).find((d) => d.kind === "ClusterConfiguration");
        const root = join(WORK, stack, "master-0");
        const pki = writeSharedPki(root, cluster.clusterName);
        const filled = configs.map((cfg, i): Filled => {
          const f = fillKubeadmConfig(cfg, {
            tokenFile: tokenFileUnder(root),
            dst: join(WORK, stack, "configs", `${cfg.machine}-${cfg.path.split("/").pop()}`),
            node: cfg.filler.how === "boot-script" ? cloudIdentity(render, cfg) : undefined,
            work: join(WORK, stack, "fill", String(i)),
          });
          return { ...f, cfg, text: readFileSync(f.path, "utf8") };
        });
        return { render, configs, root, pki, filled, init: filled.find((f) => f.cfg.role === "init")!, cluster };
      })(),
    );
  }
  return prepared.get(stack)!;
}

const said = (r: Run) => (r.stdout + r.stderr).trim();

/** The stack's etcd is on machines of its own (kubeadm's `etcd.external`). */
const externalEtcd = (p: Prepared) => p.cluster.etcd?.external !== undefined;

/**
 * kubeadm ignores a KubeletConfiguration in a JoinConfiguration file (a joining kubelet
 * takes the cluster-wide `kubelet-config` ConfigMap that init uploaded), and says so.
 */
const IGNORED_KUBELET_CONFIG =
  /^W\d{4} [\d:.]+ +\d+ joinconfiguration\.go:\d+\] \[config\] WARNING: Ignored configuration document with GroupVersionKind kubelet\.config\.k8s\.io\/v1beta1, Kind=KubeletConfiguration$/;

// ------------------------------------------------------------------ kubeadm config validate

for (const stack of STACKS) {
  test(`kubeadm accepts every config rendered for ${stack}`, { skip: SKIP }, async (t) => {
    const p = await prepare(stack);
    const masters = p.render.outputs.masters as Array<{ name: string }>;
    const roles = (role: string) => p.configs.filter((c) => c.role === role).map((c) => c.machine);
    assert.deepEqual(roles("init"), [masters[0].name]);
    // Every master can join (master-0 too, when it is replaced); only master-0 can init.
    assert.deepEqual(roles("control-plane-join"), masters.map((m) => m.name).sort());
    assert.ok(roles("worker-join").length > 0, "no worker join config rendered");
    for (const f of p.filled) {
      const where = `${f.cfg.machine}:${f.cfg.path} (${f.cfg.role}, filled by ${f.cfg.filler.path})`;
      for (const ph of PLACEHOLDERS) assert.ok(!f.text.includes(ph), `${where} still carries ${ph} after filling`);
      assert.ok(f.text.includes(p.pki.bootstrapToken), `${where} does not carry the bootstrap token after filling`);
      const run = kubeadmValidate(f.path);
      assert.equal(run.status, 0, `kubeadm config validate refused ${where}:\n${said(run)}`);
      // Nothing but "ok": any warning fails.
      assert.equal(run.stdout.trim(), "ok", `${where}: ${said(run)}`);
      assert.deepEqual(run.stderr.split("\n").filter(Boolean), [], `${where}: kubeadm warned`);
      t.diagnostic(`${f.cfg.role} ${f.cfg.machine}: ${said(run).replace(/\s+/g, " ")}`);
    }
  });
}

test("a config as rendered, placeholders not filled, is refused: the machine's fill step is needed", { skip: SKIP }, async () => {
  const p = await prepare(STACKS.includes("gcp-three-zone") ? "gcp-three-zone" : STACKS[0]);
  for (const cfg of p.configs) {
    const raw = join(WORK, "raw", `${cfg.machine}.yaml`);
    mkdirSync(join(WORK, "raw"), { recursive: true });
    writeFileSync(raw, cfg.content);
    const run = kubeadmValidate(raw);
    assert.notEqual(run.status, 0, `${cfg.machine}:${cfg.path} was accepted with its placeholders:\n${said(run)}`);
    assert.match(said(run), /@@KUBEADM_HA_/, `${cfg.machine}: kubeadm's refusal should name the placeholder:\n${said(run)}`);
  }
});

test("cloud workers fill their join config from where the program put the token and from their own metadata", { skip: SKIP }, async () => {
  let seen = 0;
  for (const stack of STACKS) {
    const p = await prepare(stack);
    for (const f of p.filled.filter((x) => x.cfg.filler.how === "boot-script")) {
      seen++;
      const id = cloudIdentity(p.render, f.cfg);
      const join = yamlDocs(f.text).find((d) => d.kind === "JoinConfiguration");
      assert.equal(join.nodeRegistration.name, id.name);
      assert.ok(join.nodeRegistration.kubeletExtraArgs.some((a: { name: string; value: string }) => a.name === "node-ip" && a.value === id.ip));
      const gcpSecret = f.requests
        .map((r) => /^https:\/\/secretmanager\.googleapis\.com\/v1\/projects\/[^/]+\/secrets\/([^/]+)\/versions\/latest:access /.exec(r)?.[1])
        .find(Boolean);
      const ssmName = f.requests.map((r) => /"Name":"([^"]+)"/.exec(r)?.[1]).find(Boolean);
      if (gcpSecret) {
        const secrets = p.render.resources.filter((r) => r.type === "gcp:secretmanager/secret:Secret").map((r) => r.inputs.secretId);
        assert.ok(secrets.includes(gcpSecret), `${stack}: ${f.cfg.machine} reads secret ${gcpSecret}; the program stores ${secrets.join(", ")}`);
        // With the worker's own service account, asked of the metadata server first.
        assert.ok(
          f.requests.some((r) => r.includes("/instance/service-accounts/default/token")),
          `${stack}: no service-account token asked`,
        );
      } else {
        assert.ok(ssmName, `${stack}: ${f.cfg.machine} asked neither GCP metadata nor SSM for the token: ${f.requests.join("; ")}`);
        const params = p.render.resources.filter((r) => r.type === "aws:ssm/parameter:Parameter").map((r) => r.inputs.name);
        assert.ok(params.includes(ssmName), `${stack}: ${f.cfg.machine} reads SSM parameter ${ssmName}; the program stores ${params.join(", ")}`);
      }
    }
  }
  assert.ok(seen > 0, "no cloud worker pool among the stacks");
});

/** Misspellings, one per kind of document, and what kubeadm calls the field it does not know. */
const MISSPELT: Array<{ kind: string; role: string; field: RegExp; as: string }> = [
  { kind: "ClusterConfiguration", role: "init", field: /^controlPlaneEndpoint:/m, as: "controlPlaneEndpiont:" },
  { kind: "InitConfiguration", role: "init", field: /^ {2}advertiseAddress:/m, as: "  advertiseAdress:" },
  { kind: "JoinConfiguration", role: "control-plane-join", field: /^controlPlane:/m, as: "controlPlnae:" },
  { kind: "JoinConfiguration", role: "worker-join", field: /^ {4}caCertHashes:/m, as: "    caCertHashs:" },
  { kind: "KubeletConfiguration", role: "init", field: /^cgroupDriver:/m, as: "cgroupDirver:" },
];

/** `text` with `field` misspelt in the document of `kind` only. */
function misspell(text: string, kind: string, field: RegExp, as: string): string {
  const docs = text.split(/^---\n/m);
  const i = docs.findIndex((d) => new RegExp(`^kind: ${kind}$`, "m").test(d));
  assert.ok(i >= 0 && field.test(docs[i]), `no ${field} in the ${kind} document`);
  docs[i] = docs[i].replace(field, as);
  return docs.join("---\n");
}

test("a misspelt field is refused, in every kind of document the program writes", { skip: SKIP }, async (t) => {
  const p = await prepare(STACKS.includes("gcp-three-zone") ? "gcp-three-zone" : STACKS[0]);
  for (const m of MISSPELT) {
    const f = p.filled.find((x) => x.cfg.role === m.role)!;
    const path = join(WORK, "misspelt", `${m.kind}-${m.role}.yaml`);
    mkdirSync(join(WORK, "misspelt"), { recursive: true });
    writeFileSync(path, misspell(f.text, m.kind, m.field, m.as));
    const run = kubeadmValidate(path);
    const name = m.as.trim().replace(/:$/, "");
    assert.notEqual(run.status, 0, `kubeadm accepted ${m.kind} with ${name}:\n${said(run)}`);
    assert.match(said(run), new RegExp(`unknown field "[\\w.]*${name}"`), said(run));
    t.diagnostic(`${m.kind} (${m.role}) with ${name}: ${said(run).replace(/\s+/g, " ")}`);
  }
});

test("join configs carry no KubeletConfiguration: kubeadm would ignore it, even misspelt, and the kubelet takes the cluster's", { skip: SKIP }, async () => {
  // What kubeadm 1.34 does with one: a joining kubelet's settings come from the cluster's
  // kubelet-config ConfigMap (made from the init config's KubeletConfiguration, checked
  // strictly above); a join file's copy is skipped before it is decoded.
  const p = await prepare(STACKS.includes("gcp-three-zone") ? "gcp-three-zone" : STACKS[0]);
  const init = p.filled.find((x) => x.cfg.role === "init")!;
  const kubelet = init.text.split(/^---$/m).find((d) => /kind: KubeletConfiguration/.test(d))!;
  for (const role of ["control-plane-join", "worker-join"]) {
    const f = p.filled.find((x) => x.cfg.role === role)!;
    assert.ok(!f.cfg.kinds.includes("KubeletConfiguration"), `${f.cfg.machine} (${role}) carries a KubeletConfiguration kubeadm would ignore`);
    const path = join(WORK, "misspelt", `KubeletConfiguration-${role}.yaml`);
    mkdirSync(join(WORK, "misspelt"), { recursive: true });
    writeFileSync(path, `${f.text.trimEnd()}\n---${kubelet.replace(/^cgroupDriver:/m, "cgroupDirver:")}`);
    const run = kubeadmValidate(path);
    assert.equal(run.status, 0, said(run));
    assert.equal(run.stdout.trim(), "ok");
    assert.ok(
      run.stderr
        .split("\n")
        .filter(Boolean)
        .every((l) => IGNORED_KUBELET_CONFIG.test(l)),
      run.stderr,
    );
  }
});

// ------------------------------------------------------------------ the shared PKI and kubeadm's init phases

test("the lab's CA set is the one the program asks the tls provider for", { skip: SKIP }, async () => {
  const shape = (c: { commonName: string; isCaCertificate: boolean; validityPeriodHours: number; allowedUses: string[] }) => ({
    commonName: c.commonName,
    isCaCertificate: c.isCaCertificate,
    validityPeriodHours: c.validityPeriodHours,
    allowedUses: c.allowedUses,
  });
  for (const stack of STACKS) {
    const p = await prepare(stack);
    assert.equal(p.cluster.clusterName, stackConfig(stack).clusterName);
    const registered = p.render.resources
      .filter((x) => x.type === "tls:index/selfSignedCert:SelfSignedCert")
      .map((c) => shape({ ...c.inputs, commonName: c.inputs.subject.commonName }));
    const byName = (a: { commonName: string }, b: { commonName: string }) => a.commonName.localeCompare(b.commonName);
    assert.deepEqual(registered.sort(byName), sharedCaSpecs(p.cluster.clusterName).map(shape).sort(byName), stack);
    // The CA keys and the service-account key (not the SSH key the program also makes).
    const keys = p.render.resources.filter((x) => x.type === "tls:index/privateKey:PrivateKey" && /-(ca|front-proxy-ca|etcd-ca|sa)-key$/.test(x.name));
    assert.equal(keys.length, 4, `${stack}: ${keys.map((k) => k.name).join(", ")}`);
    for (const k of keys) assert.deepEqual(k.inputs, KEY_SPEC, `${stack}: ${k.name}`);
    // And what openssl made from the spec says the same.
    for (const [pem, cn] of [
      [p.pki.caCert, "kubernetes-ca"],
      [p.pki.frontProxyCaCert, "front-proxy-ca"],
      [p.pki.etcdCaCert, "etcd-ca"],
    ]) {
      const cert = new X509Certificate(pem);
      assert.equal(cert.subject, `CN=${p.cluster.clusterName}-${cn}`);
      assert.ok(cert.ca && cert.checkIssued(cert) && cert.verify(cert.publicKey), `${cn} is not a self-signed CA`);
      assert.equal((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 3_600_000, CA_VALIDITY_HOURS);
      assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    }
  }
});

const PKI = "/etc/kubernetes/pki";
const phased = new Map<string, Promise<{ p: Prepared; runs: Run[]; before: Map<string, string> }>>();
/** Runs certs, kubeconfig, control-plane and etcd-local on master-0's filled init config, once per stack. */
function phases(stack: string) {
  if (!phased.has(stack)) {
    phased.set(
      stack,
      prepare(stack).then((p) => {
        const before = new Map(sharedPkiFiles(p.pki).map((f) => [f.path, hostFile(p.root, f.path)]));
        return { p, runs: kubeadmPhases(p.root, p.init.path), before };
      }),
    );
  }
  return phased.get(stack)!;
}

/** What a stack's endpoint addresses are, in words (from its stack file). */
function endpointKind(stack: string): string {
  const c = stackConfig(stack);
  if (c.endpoint?.mode === "local-proxy") return "127.0.0.1 of the local proxy";
  if (c.platform === "static") return "the VIP";
  return c.platform === "aws" ? "the load balancer's addresses" : "the load balancer's address";
}

for (const stack of STACKS) {
  test(`with the shared PKI, kubeadm's init phases run on ${stack}'s init config and keep the shared CAs`, { skip: SKIP }, async (t) => {
    const { p, runs, before } = await phases(stack);
    const out = runs.map(said).join("\n");
    // An external etcd's CA and certificates are its own machines' (and the apiservers' client certificate the program's): kubeadm makes none of them on a master.
    const external = externalEtcd(p);
    for (const ca of ["ca", "front-proxy-ca", ...(external ? [] : ["etcd/ca"])]) assert.match(out, new RegExp(`Using existing ${ca} certificate authority`), out);
    if (external)
      for (const what of ["etcd/ca certificate authority", "etcd/server certificate", "apiserver-etcd-client certificate"])
        assert.match(out, new RegExp(`External etcd mode: Skipping ${what} generation`), out);
    assert.match(out, /Using the existing "sa" key/, out);
    for (const [path, content] of before) assert.equal(hostFile(p.root, path), content, `kubeadm changed the shared ${path}`);
    const issuedBy: Array<[string, string]> = [
      ["apiserver", p.pki.caCert],
      ["apiserver-kubelet-client", p.pki.caCert],
      ["front-proxy-client", p.pki.frontProxyCaCert],
      ...(external ? [] : (["etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client"].map((n) => [n, p.pki.etcdCaCert]) as Array<[string, string]>)),
    ];
    for (const [name, caPem] of issuedBy) {
      const cert = certificateAt(p.root, `${PKI}/${name}.crt`);
      const issuer = new X509Certificate(caPem);
      assert.ok(cert.checkIssued(issuer) && cert.verify(issuer.publicKey), `${name}.crt is not signed by ${issuer.subject}`);
    }
    t.diagnostic(runs.map((r) => `${r.argv.slice(r.argv.indexOf("phase") + 1, -2).join(" ")}: ${said(r).split("\n").length} lines`).join("; "));
  });

  test(`the apiserver certificate for ${stack} carries the endpoint name, ${endpointKind(stack)} and every master address`, { skip: SKIP }, async (t) => {
    const { p } = await phases(stack);
    const r = p.render;
    const cert = certificateAt(p.root, `${PKI}/apiserver.crt`);
    const ca = new X509Certificate(p.pki.caCert);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), "apiserver.crt is not signed by the shared CA");
    const sans = subjectAltNames(cert);
    const endpointName = String(r.outputs.endpoint).replace(/:\d+$/, "");
    assert.equal(`${endpointName}:${String(r.outputs.endpoint).split(":").pop()}`, p.cluster.controlPlaneEndpoint);
    assert.ok(sans.dns.includes(endpointName), `no DNS:${endpointName} in ${cert.subjectAltName}`);
    const want = [...(r.outputs.endpointAddresses as string[]), ...(r.outputs.masters as Array<{ address: string }>).map((m) => m.address)];
    if (r.config.endpoint?.mode === "local-proxy") want.push("127.0.0.1");
    for (const ip of want) assert.ok(sans.ip.includes(ip), `no IP:${ip} in ${cert.subjectAltName}`);
    t.diagnostic(cert.subjectAltName ?? "");
  });

  test(`the static pod manifests for ${stack} exist and carry the rendered extraArgs`, { skip: SKIP }, async () => {
    const { p } = await phases(stack);
    const master0 = (p.render.outputs.masters as Array<{ name: string; address: string }>)[0];
    const external = externalEtcd(p);
    const manifests: Array<[string, "apiServer" | "controllerManager" | "scheduler" | "etcd"]> = [
      ["kube-apiserver", "apiServer"],
      ["kube-controller-manager", "controllerManager"],
      ["kube-scheduler", "scheduler"],
      ...(external ? [] : [["etcd", "etcd"] as [string, "etcd"]]),
    ];
    for (const [pod, component] of manifests) {
      const path = `/etc/kubernetes/manifests/${pod}.yaml`;
      assert.ok(hostFileExists(p.root, path), `${path} not written`);
      const command = podArgv(hostFile(p.root, path));
      const flags = extraArgFlags(p.cluster, component);
      assert.ok(flags.length > 0, `${component} has no extraArgs in the rendered ClusterConfiguration`);
      for (const flag of flags) assert.ok(command.includes(flag), `${pod} lacks ${flag}: ${command.join(" ")}`);
    }
    const apiserver = podArgv(hostFile(p.root, "/etc/kubernetes/manifests/kube-apiserver.yaml"));
    assert.ok(apiserver.includes(`--advertise-address=${master0.address}`), apiserver.join(" "));
    if (external) {
      // No member on a master: the apiserver is a client of every one of the etcd machines.
      assert.ok(!hostFileExists(p.root, "/etc/kubernetes/manifests/etcd.yaml"), "an etcd manifest on a master of an external etcd");
      assert.ok(apiserver.includes(`--etcd-servers=${p.cluster.etcd.external.endpoints.join(",")}`), apiserver.join(" "));
      assert.equal(p.cluster.etcd.external.endpoints.length, 3);
    }
    // The leader-election and etcd timing the program promises, by name.
    for (const pod of ["kube-controller-manager", "kube-scheduler"]) {
      const c = podArgv(hostFile(p.root, `/etc/kubernetes/manifests/${pod}.yaml`));
      for (const f of ["--leader-elect=true", "--leader-elect-lease-duration=15s", "--leader-elect-renew-deadline=10s", "--leader-elect-retry-period=2s"])
        assert.ok(c.includes(f), `${pod} lacks ${f}`);
    }
    if (!external) {
      const etcd = podArgv(hostFile(p.root, "/etc/kubernetes/manifests/etcd.yaml"));
      assert.ok(etcd.includes(`--initial-cluster=${master0.name}=https://${master0.address}:2380`), etcd.join(" "));
      for (const f of ["--heartbeat-interval=100", "--election-timeout=1000"]) assert.ok(etcd.includes(f), `etcd lacks ${f}`);
    }
  });

  test(`the kubeconfigs for ${stack} point at the controlPlaneEndpoint`, { skip: SKIP }, async (t) => {
    const { p } = await phases(stack);
    const endpoint = `https://${p.cluster.controlPlaneEndpoint}`;
    const init = yamlDocs(p.init.text).find((d) => d.kind === "InitConfiguration");
    const local = `https://${init.localAPIEndpoint.advertiseAddress}:${init.localAPIEndpoint.bindPort}`;
    const servers = Object.fromEntries(
      ["admin", "super-admin", "kubelet", "controller-manager", "scheduler"].map((k) => [k, kubeconfigServer(hostFile(p.root, `/etc/kubernetes/${k}.conf`))]),
    );
    t.diagnostic(JSON.stringify(servers));
    // Users reach the cluster through the endpoint. On a control-plane node the kubelet,
    // controller-manager and scheduler talk to their own apiserver: kubeadm's design for the
    // latter two, and ControlPlaneKubeletLocalMode (beta, on by default since 1.33) for the
    // kubelet. Workers' kubelets get the endpoint from their join config's discovery.
    assert.deepEqual(servers, { admin: endpoint, "super-admin": endpoint, kubelet: local, "controller-manager": local, scheduler: local });
  });
}
