// The real Pulumi engine on this program, offline (file backend, no cloud, no host
// reached): preview of the hosts-you-own stacks lists what the offline render lists,
// `pulumi up` of the PKI and bootstrap token alone really runs the tls and random
// plugins, and the state it leaves holds no private key, token or kubeconfig in plain text.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "crypto";
import { existsSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { readManifest, toolchainDir } from "../toolchain/cache";
import { toolchainVersions } from "../toolchain/recipes";
import { ENGINE_TOOLS, EngineResource, isEngineOwn, PulumiEngine, secretValues } from "../engine/pulumi";
import { renderInChild, toolchainSkip } from "./helpers";
import { readStackFile } from "../render/render";
import { fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { settledOf } from "../components/config/settled";

const ROOT = join(__dirname, "..");
const STACKS = ["onprem-vip", "onprem-local-proxy"];
const missing = toolchainSkip([...ENGINE_TOOLS]) || undefined;
if (missing) console.log(`# engine tests skipped: ${missing}`);

const key = (r: { type: string; name: string }) => `${r.type} ${r.name}`;
/** The stack files the engine must never write (it works on copies). */
const stackFiles = () =>
  STACKS.map((s) =>
    createHash("sha256")
      .update(readFileSync(join(ROOT, "stacks", `Pulumi.${s}.yaml`)))
      .digest("hex"),
  );
const log = (l: string) => console.log(`# ${l}`);

describe("the real Pulumi engine on the hosts-you-own stacks", { skip: missing, timeout: 15 * 60_000 }, () => {
  let engine: PulumiEngine;
  const previews = new Map<string, EngineResource[]>();
  const renders = new Map<string, Awaited<ReturnType<typeof renderInChild>>>();
  const before_ = stackFiles();

  before(async () => {
    engine = await PulumiEngine.start({ root: ROOT, versions: toolchainVersions(ROOT), log });
  });
  after(() => {
    engine?.dispose();
    assert.ok(!engine || !existsSync(engine.dir), `dispose() removes ${engine?.dir}`);
    assert.deepEqual(stackFiles(), before_, "the repository's stack files are untouched (stack init and config work on copies)");
  });

  test("the CLI and the plugins report the versions they were built and installed as", async () => {
    const build = readManifest(toolchainDir())!.tools.pulumi.build;
    const cliVersion = /^pulumi-cli-(v\d+\.\d+\.\d+)$/.exec(build)?.[1];
    assert.ok(cliVersion, `unexpected CLI build id ${build}`);
    assert.equal((await engine.must(["version"])).trim(), cliVersion);
    const plugins = await engine.must(["plugin", "ls", "--json"]);
    const listed = (JSON.parse(plugins) as Array<{ name: string; kind: string; version: string }>).map((p) => `${p.kind} ${p.name} ${p.version}`).sort();
    const v = toolchainVersions(ROOT);
    assert.deepEqual(listed, [`resource command ${v["@pulumi/command"]}`, `resource random ${v["@pulumi/random"]}`, `resource tls ${v["@pulumi/tls"]}`]);
  });

  for (const stack of STACKS) {
    test(`pulumi preview of ${stack} lists the resources (type and name) of the offline render`, async () => {
      await engine.initStack(stack);
      const [{ resources }, render] = await Promise.all([engine.preview(stack), renderInChild(stack)]);
      renders.set(stack, render);
      previews.set(stack, resources);
      const fromEngine = resources
        .filter((r) => !isEngineOwn(r.type))
        .map(key)
        .sort();
      const fromRender = render.resources.map(key).sort();
      assert.ok(fromRender.length >= 40, `the render lists ${fromRender.length} resources`);
      assert.deepEqual(fromEngine, fromRender);
      // The engine's own: the stack (default providers are not steps of a preview's --json).
      const own = resources.filter((r) => isEngineOwn(r.type)).map((r) => r.type);
      assert.ok(own.includes("pulumi:pulumi:Stack"), `the stack is in the preview: ${own.join(", ")}`);
    });
  }

  test("the offline render names every resource with the URN the engine gives it", () => {
    for (const stack of STACKS) {
      const fromEngine = (previews.get(stack) ?? [])
        .filter((r) => !isEngineOwn(r.type))
        .map((r) => r.urn)
        .sort();
      const fromRender = (renders.get(stack)?.resources ?? []).map((r) => r.urn).sort();
      assert.ok(
        fromRender.some((u) => u.includes("kubeadm-ha:index:Cluster$kubeadm-ha:pki:ClusterPki$tls:")),
        stack,
      );
      assert.deepEqual(fromRender, fromEngine, stack);
    }
  });

  describe("pulumi up of the PKI and the bootstrap token alone (onprem-vip)", () => {
    const stack = "onprem-vip";
    let plain: { text: string; json: any };
    let shown: { text: string; json: any };
    let pkiUrns: string[] = [];

    before(async () => {
      if (!previews.has(stack)) {
        await engine.initStack(stack);
        previews.set(stack, (await engine.preview(stack)).resources);
      }
      const resources = previews.get(stack)!;
      pkiUrns = resources.filter((r) => r.urn.includes("kubeadm-ha:pki:ClusterPki$") && /^(tls|random):/.test(r.type)).map((r) => r.urn);
      // Their parents (components: nothing to run) come along so the children have them in state.
      const parents = resources.filter((r) => r.type === "kubeadm-ha:index:Cluster" || r.type === "kubeadm-ha:pki:ClusterPki").map((r) => r.urn);
      await engine.upTargets(stack, [...parents, ...pkiUrns]);
      plain = await engine.exportStack(stack);
      shown = await engine.exportStack(stack, true);
    });

    test("creates the keys, CA certificates, token parts and the Secrets' encryption key with the real tls and random plugins, and nothing else", () => {
      assert.equal(pkiUrns.length, 10, `expected 4 keys, 3 CA certificates, 2 token parts and 1 encryption key, got ${pkiUrns.join(", ")}`);
      const state = shown.json.deployment.resources as Array<{ urn: string; type: string; id?: string; outputs?: Record<string, any>; custom?: boolean }>;
      for (const urn of pkiUrns) {
        const r = state.find((s) => s.urn === urn);
        assert.ok(r && r.id, `${urn} is in the state with an id`);
      }
      assert.ok(!state.some((s) => s.type.startsWith("command:")), "no remote command ran");
      const secretText = (v: any) => (v && typeof v === "object" && "plaintext" in v ? JSON.parse(v.plaintext) : v);
      const keys = state.filter((s) => s.type === "tls:index/privateKey:PrivateKey");
      assert.equal(keys.length, 4);
      for (const k of keys) {
        assert.match(secretText(k.outputs!.privateKeyPem), /^-----BEGIN EC PRIVATE KEY-----/, `${k.urn} holds a real key`);
        assert.match(k.outputs!.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
      }
      const certs = state.filter((s) => s.type === "tls:index/selfSignedCert:SelfSignedCert");
      assert.equal(certs.length, 3);
      for (const c of certs) assert.match(c.outputs!.certPem, /^-----BEGIN CERTIFICATE-----/);
      const parts = state.filter((s) => s.type === "random:index/randomPassword:RandomPassword").map((s) => secretText(s.outputs!.result) as string);
      assert.deepEqual(
        parts.map((p) => p.length).sort((a, b) => a - b),
        [6, 16],
      );
      for (const p of parts) assert.match(p, /^[a-z0-9]+$/);
      const [encryptionKey, ...more] = state.filter((s) => s.type === "random:index/randomBytes:RandomBytes");
      assert.deepEqual(more, []);
      assert.match(encryptionKey.urn, /::dc1-pki-encryption-key-1$/, "named by its round");
      assert.equal(Buffer.from(secretText(encryptionKey.outputs!.base64) as string, "base64").length, 32, "32 bytes, as secretbox and aescbc take");
    });

    test("the state holds no private key, bootstrap token or kubeconfig in plain text", () => {
      const state = shown.json.deployment.resources as Array<{ type: string; outputs?: Record<string, any> }>;
      const secrets = secretValues(shown.json);
      const pems = secrets.filter((s) => s.includes("PRIVATE KEY-----"));
      assert.ok(pems.length >= 4, `--show-secrets shows the ${pems.length} private keys`);
      const parts = state.filter((s) => s.type === "random:index/randomPassword:RandomPassword").map((s) => JSON.parse(s.outputs!.result.plaintext) as string);
      const token = [parts.find((p) => p.length === 6), parts.find((p) => p.length === 16)].join(".");
      assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
      for (const p of parts) assert.ok(secrets.includes(p), "each token part is a secret");
      const encryptionKey = state.find((s) => s.type === "random:index/randomBytes:RandomBytes")!;
      const keyBytes = JSON.parse(encryptionKey.outputs!.base64.plaintext) as string;
      assert.ok(secrets.includes(keyBytes), "the encryption key is a secret");

      const files = engine.backendFiles();
      assert.ok(
        files.some((f) => f.path.endsWith(`${stack}.json`)),
        `the backend keeps the stack's state: ${files.map((f) => f.path).join(", ")}`,
      );
      const texts: Array<[string, string]> = [["pulumi stack export", plain.text], ...files.map((f): [string, string] => [`backend ${f.path}`, f.content])];
      const leaks: string[] = [];
      for (const [where, text] of texts) {
        if (text.includes("PRIVATE KEY-----")) leaks.push(`${where}: a PEM private key`);
        if (text.includes(token)) leaks.push(`${where}: the bootstrap token`);
        if (/client-key-data|kind:\s*Config/.test(text)) leaks.push(`${where}: a kubeconfig`);
        for (const s of secrets) if (s.length >= 6 && text.includes(s)) leaks.push(`${where}: secret value ${s.slice(0, 12)}...`);
      }
      assert.deepEqual(leaks, []);
      // The check is live: the shown export does carry them.
      assert.ok(shown.text.includes("PRIVATE KEY-----") && parts.every((p) => shown.text.includes(p)));
    });
  });

  describe("a stack whose cluster settled its pod network", () => {
    const stack = "onprem-local-proxy";
    const made = "10.99.0.0/16";
    let imported: unknown;
    /**
     * The stack's resources and outputs, leaving out what every run adds by reading: the
     * StackReference to itself and the provider that reads it.
     */
    const resources = async () => {
      const all = ((await engine.exportStack(stack)).json as { deployment: { resources?: Array<{ urn: string; type: string; outputs?: unknown }> } }).deployment.resources ?? [];
      return all.filter((r) => r.type !== "pulumi:pulumi:StackReference" && r.type !== "pulumi:providers:pulumi").map((r) => ({ urn: r.urn, outputs: r.outputs }));
    };

    before(async () => {
      await engine.initStack(stack);
      // The state a `pulumi up` of this cluster left, made with another pod network: its
      // Stack resource and its `settled` output (nothing else is needed to be refused).
      const { config } = readStackFile(join(ROOT, "stacks"), stack);
      const settled = { ...settledOf(validateClusterConfig(fromRawConfig(config), stack)), "network.podCidr": made };
      const deployment = {
        version: 3,
        deployment: {
          manifest: { time: new Date().toISOString(), magic: "", version: "" },
          resources: [{ urn: `urn:pulumi:${stack}::kubeadm-ha::pulumi:pulumi:Stack::kubeadm-ha-${stack}`, custom: false, type: "pulumi:pulumi:Stack", outputs: { settled } }],
        },
      };
      const file = join(engine.dir, `${stack}-settled.json`);
      writeFileSync(file, JSON.stringify(deployment));
      await engine.must(["stack", "import", "--file", file, "--stack", stack]);
      imported = await resources();
    });

    test("pulumi preview and pulumi up refuse a config with another pod network, naming the key and the value it was made with, and leave the state as it was", async () => {
      for (const args of [["preview"], ["up", "--yes", "--skip-preview"]]) {
        const t0 = Date.now();
        const r = await engine.run([...args, ...engine.stackArgs(stack)], { timeoutMs: 10 * 60_000 });
        log(`${args[0]} refused in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert.notEqual(r.code, 0, `${args[0]} passed:\n${r.stdout}`);
        assert.match(r.stdout + r.stderr, new RegExp(`kubeadm-ha:network\\.podCidr: is "10\\.244\\.0\\.0/16", but this cluster was made with "${made.replace(/\./g, "\\.")}"`));
        assert.deepEqual(await resources(), imported, `${args[0]} left the state as it was`);
      }
    });
  });
  describe("a federation whose members are not deployed clusters of this project", () => {
    const stack = "fed-global";
    // Members as the backend has them: a federation (its `federation` output is its name),
    // a stack made but never up, and one the backend does not have.
    const [federation, neverUp, absent] = ["fed-asia-east1", "fed-europe-west1", "fed-us-east1"];
    /** The federation's resources in its state: none may be created when a member is refused. */
    const created = async () =>
      (((await engine.exportStack(stack)).json as { deployment: { resources?: Array<{ type: string }> } }).deployment.resources ?? [])
        .map((r) => r.type)
        .filter((t) => !["pulumi:pulumi:Stack", "pulumi:pulumi:StackReference", "pulumi:providers:pulumi"].includes(t));

    before(async () => {
      await engine.initStack(stack);
      for (const s of [federation, neverUp]) await engine.must(["stack", "init", s, "--secrets-provider", "passphrase", "--non-interactive"], { cwd: engine.configDir });
      const deployment = {
        version: 3,
        deployment: {
          manifest: { time: new Date().toISOString(), magic: "", version: "" },
          resources: [
            {
              urn: `urn:pulumi:${federation}::kubeadm-ha::pulumi:pulumi:Stack::kubeadm-ha-${federation}`,
              custom: false,
              type: "pulumi:pulumi:Stack",
              outputs: { federation: "asia" },
            },
          ],
        },
      };
      const file = join(engine.dir, `${federation}-state.json`);
      writeFileSync(file, JSON.stringify(deployment));
      await engine.must(["stack", "import", "--file", file, "--stack", federation]);
    });

    test("pulumi preview and pulumi up refuse it, naming each member's key and what it is, and create nothing", async () => {
      for (const args of [["preview"], ["up", "--yes", "--skip-preview"]]) {
        const r = await engine.run([...args, ...engine.stackArgs(stack)], { timeoutMs: 10 * 60_000 });
        const said = r.stdout + r.stderr;
        assert.notEqual(r.code, 0, `${args[0]} passed:\n${said}`);
        log(
          `${args[0]}: ${[
            ...new Set(
              said
                .split("\n")
                .filter((l) => /kubeadm-ha:members/.test(l))
                .map((l) => l.trim()),
            ),
          ].join(" | ")}`,
        );
        assert.match(said, new RegExp(`kubeadm-ha:members\\[0\\]\\.stack: .*${federation}.*federation`), `${args[0]}: the federation member`);
        assert.match(said, new RegExp(`kubeadm-ha:members\\[1\\]\\.stack: .*${neverUp}.* has no 'federation' output`), `${args[0]}: the member never up`);
        assert.match(said, new RegExp(`kubeadm-ha:members\\[2\\]\\.stack: .*${absent}`), `${args[0]}: the member the backend does not have`);
        assert.deepEqual(await created(), [], `${args[0]} created nothing`);
      }
    });
  });
  describe("the policy pack in the real engine (pulumi preview --policy-pack policy)", () => {
    // A stack no other test here gives a state: the pack sees a cluster about to be made.
    const stack = "onprem-external-etcd";
    const pack = join(ROOT, "policy");
    let config = "";

    before(async () => {
      config = readFileSync(await engine.initStack(stack), "utf8");
    });
    after(() => writeFileSync(engine.configFile(stack), config));

    test("the engine starts the pack through the language host, hands it the stack's resources, and the shipped stack passes every rule", async () => {
      const r = await engine.run(["preview", ...engine.stackArgs(stack), "--policy-pack", pack], { timeoutMs: 10 * 60_000 });
      assert.equal(r.code, 0, `preview with the pack failed:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /Policies:[\s\S]*kubeadm-ha@v0\.1\.0 \(local: /, "the preview reports the pack it ran");
      assert.doesNotMatch(r.stdout + r.stderr, /mandatory|violation/i);
    });

    test("an HA cluster with its etcd backups off and no reason given is refused by etcd-backups-on, naming the cluster and the key to set", async () => {
      assert.match(config, /^config:\n/m);
      writeFileSync(engine.configFile(stack), config.replace(/^config:\n/m, "config:\n  kubeadm-ha:backups:\n    enabled: false\n"));
      const r = await engine.run(["preview", ...engine.stackArgs(stack), "--policy-pack", pack], { timeoutMs: 10 * 60_000 });
      assert.notEqual(r.code, 0, `preview passed:\n${r.stdout}`);
      const out = r.stdout + r.stderr;
      assert.match(out, /\[mandatory\]\s+etcd-backups-on/);
      assert.match(out, /cluster dc2: an HA control plane without etcd backups[\s\S]*kubeadm-ha:backups\.offReason/);
      // Only that rule: the pack reads the Cluster component's facts, nothing else changed.
      assert.doesNotMatch(out, /\[mandatory\]\s+(?!etcd-backups-on)[a-z-]+/);
    });
  });
});
