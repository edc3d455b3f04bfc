// Every key a stack gives either reaches what the program builds or is refused, naming it:
// on every shipped cluster stack (GCP, AWS, hosts you own with a VIP and with local proxies),
// a stack that sets every key of the schema is validated; the keys refused are taken out;
// the rest is built on the mock runtime from a config that records each key read. A key
// given but never read would be silently ignored: the test names it. A new key in the schema
// needs an example here (config-applies.test.ts), so no key escapes the check.
//
// The checks, registered by one test file per stack (config-applies*.test.ts) so that the
// four stacks' mock builds run in jest's workers side by side.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "path";
import * as pulumi from "@pulumi/pulumi";
import { clusterConfigSchema, SECRET_KEYS } from "../components/config/schema";
import { schemaKeys } from "../components/config/keys";
import { ConfigError, ConfigProblem, fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { SETTLED_OUTPUT, settledOf } from "../components/config/settled";
import { clusterOf } from "../components/cluster-main";
import { readStackFile } from "../render/render";
import { hostAt } from "../components/config/cidr";
import { installMocks, MOCK_ORGANIZATION, PROJECT } from "../render/mocks";
import { fakeBundle, ROOT } from "./helpers";

type Raw = Record<string, any>;

const KEYS = schemaKeys(clusterConfigSchema).filter((k) => k !== "layout");

/** Parts of a key: `nodePools[].labels` -> ["nodePools", "[]", "labels"]. */
const partsOf = (key: string) => key.replace(/\[\]/g, ".[]").split(".");

/** The values at `key` in `raw` (one per list item on the way). */
function valuesAt(raw: unknown, key: string): unknown[] {
  let here: unknown[] = [raw];
  for (const p of partsOf(key)) {
    here = here.flatMap((v) => (p === "[]" ? (Array.isArray(v) ? v : []) : v !== null && typeof v === "object" && p in v ? [(v as Raw)[p]] : []));
  }
  return here.filter((v) => v !== undefined);
}
const given = (raw: Raw, key: string) => valuesAt(raw, key).length > 0;

/** Sets `key` on every list item on the way (made when missing) to `value(item index)`. */
function setAt(raw: Raw, key: string, value: (i: number) => unknown) {
  const parts = partsOf(key);
  const walk = (o: Raw, rest: string[], i: number) => {
    const [p, ...more] = rest;
    if (more[0] === "[]") {
      (o[p] ?? []).forEach((item: Raw, j: number) => walk(item, more.slice(1), j));
    } else if (more.length) {
      o[p] ??= {};
      walk(o[p], more, i);
    } else o[p] = value(i);
  };
  walk(raw, parts, 0);
}

const ONPREM_HOSTS = fromRawConfig(readStackFile(join(ROOT, "stacks"), "onprem-vip").config).hosts as Raw;
const SNAPSHOT = (raw: Raw) => `${raw.clusterName}/20261203T101500Z-${raw.clusterName}-master-1.db`;

/**
 * A value that is right where the key applies, for every key of the schema, set where the
 * stack leaves the key out. `variant` keys go in their own stack (they rule each other out:
 * a bundle or repository packages, a restore from a snapshot or a file, backups on or off).
 */
const EXAMPLES: Record<string, { value: (raw: Raw, i: number) => unknown; variant?: string }> = {};
const example = (key: string, value: unknown, variant?: string) =>
  (EXAMPLES[key] = { value: typeof value === "function" ? (value as (raw: Raw, i: number) => unknown) : () => structuredClone(value), variant });
example("platform", "gcp");
example("clusterName", "prod");
example("region", "europe-west1");
example("zones", ["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
example("hosts", ONPREM_HOSTS);
for (const role of ["masters", "workers"]) {
  example(`hosts.${role}`, ONPREM_HOSTS[role]);
  for (const k of ["name", "address", "zone"]) example(`hosts.${role}[].${k}`, (_: Raw, i: number) => ONPREM_HOSTS[role][i][k]);
  example(`hosts.${role}[].labels`, { "example.com/rack": "a" });
  example(`hosts.${role}[].machine`, (_: Raw, i: number) => `chassis-${role}-${i}`);
}
// The every-key stack keeps etcd stacked (its machines and sizes are refused there as keys
// that do not apply); the "external etcd" variant gives them to machines of their own.
const ETCD_HOSTS = (raw: Raw) =>
  ["a", "b", "c"].map((z, i) => ({
    name: `${raw.clusterName}-etcd-${i}`,
    address: hostAt(raw.network.nodeCidr, 220 + i),
    zone: `rack-${z}`,
  }));
example("etcd", { topology: "stacked" });
example("etcd.topology", "external", "external etcd");
example("etcd.count", 3);
example("etcd.machineType", (raw: Raw) => (raw.platform === "aws" ? "m6i.large" : "e2-standard-2"));
example("etcd.diskSizeGb", 50);
example("hosts.etcd", ETCD_HOSTS);
for (const k of ["name", "address", "zone"] as const) example(`hosts.etcd[].${k}`, (raw: Raw, i: number) => ETCD_HOSTS(raw)[i][k]);
example("hosts.etcd[].labels", { "example.com/rack": "a" });
example("hosts.etcd[].machine", (_: Raw, i: number) => `chassis-etcd-${i}`);
example("hosts.sshUser", "ubuntu");
example("hosts.bastion", "ops@bastion.example.com");
example("controlPlane.count", 3);
example("controlPlane.highAvailability", true);
example("controlPlane.machineType", "e2-standard-4");
example("controlPlane.diskSizeGb", 80);
example("nodePools", [{ name: "general" }]);
example("nodePools[].name", "general");
example("nodePools[].zones", (raw: Raw) => (Array.isArray(raw.zones) ? raw.zones.slice(0, 2) : ["rack-a"]));
example("nodePools[].machineType", "e2-standard-4");
example("nodePools[].nodesPerZone", 2);
example("nodePools[].minPerZone", 1);
example("nodePools[].maxPerZone", 4);
example("nodePools[].autoscalingMode", "ON");
example("nodePools[].diskSizeGb", 80);
example("nodePools[].labels", { "example.com/pool": "general" });
example("nodePools[].taints", [{ key: "dedicated", value: "batch", effect: "NoSchedule" }]);
for (const [k, v] of Object.entries({ key: "dedicated", value: "batch", effect: "NoSchedule" })) example(`nodePools[].taints[].${k}`, v);
example("network.nodeCidr", "10.10.0.0/16");
example("network.podCidr", "10.244.0.0/16");
example("network.serviceCidr", "10.96.0.0/12");
example("network.natGateways", "single");
example("kubernetes.version", "1.34.2");
example("kubernetes.cni.name", "calico");
example("kubernetes.cni.version", "3.29.1");
example("kubernetes.packages.source", "repository");
example("kubernetes.packages.url", "https://bundles.example.com/kubernetes-1.34.2", "bundle from a URL");
example("kubernetes.packages.path", (raw: Raw) => fakeBundle(raw.kubernetes?.version ?? "1.34.2"), "bundle from a folder");
example("kubernetes.kubelet.allowCgroupV1", true);
example("kubernetes.kubelet.evictionHard", { "nodefs.available": "5%" });
example("kubernetes.kubelet.imageGCHighThresholdPercent", 90);
example("kubernetes.containerd.restrictOomScoreAdj", true);
example("kubernetes.controllerManager.nodeMonitorGracePeriodSeconds", 60);
example("kubernetes.kubeProxy.conntrackMaxPerCore", 0);
example("kubernetes.certificates.validity", "4380h");
example("kubernetes.certificates.renewBefore", "720h");
example("kubernetes.bootstrapToken.ttl", "12h");
example("kubernetes.encryption.enabled", true);
example("kubernetes.encryption.provider", "aescbc");
example("kubernetes.encryption.keyRound", 1);
example("kubernetes.audit.enabled", true);
example("kubernetes.audit.maxAgeDays", 7);
example("kubernetes.audit.maxBackups", 3);
example("kubernetes.audit.maxSizeMB", 50);
example("backups.enabled", true);
example("backups.offReason", "etcd is restored from the nightly disk images of the masters", "switched off");
example("backups.every", "30m");
example("backups.keepDays", 14);
example("backups.destination", "s3", "to S3 from a snapshot");
example("backups.path", "/srv/etcd-backups");
example(
  "backups.s3",
  { endpoint: "https://s3.example.com", bucket: "etcd-backups", region: "us-east-1", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret-key" },
  "to S3 from a snapshot",
);
for (const [k, v] of Object.entries({
  endpoint: "https://s3.example.com",
  bucket: "etcd-backups",
  region: "us-east-1",
  accessKeyId: "AKIAEXAMPLE",
  secretAccessKey: "example-secret-key",
}))
  example(`backups.s3.${k}`, v, "to S3 from a snapshot");
example("restore.snapshot", SNAPSHOT, "to S3 from a snapshot");
example("restore.file", __filename);
example("restore.round", 2);
example("endpoint.mode", "cloud-lb");
example("endpoint.vip", "10.103.97.2");
example("endpoint.interface", "eth0");
example("endpoint.name", "api.prod.example.com");
example("adminCidrs", ["198.51.100.0/24"]);
example("sshPublicKey", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkG0b9Pd4rA0X0wBn0JmIFp5p3h8pLr2n3tJ4X1eC9F user@host");
example("sshPrivateKey", "-----BEGIN OPENSSH PRIVATE KEY-----\nexample\n-----END OPENSSH PRIVATE KEY-----\n");
example("image", "ubuntu-os-cloud/ubuntu-2404-lts-amd64");
example("bastion.machineType", "e2-small");

const VARIANTS = ["every key", ...new Set(Object.values(EXAMPLES).flatMap((e) => e.variant ?? []))];
/** What a variant changes in what the stack itself says (bundles: a CNI with no image). */
const VARIANT_EDITS: Record<string, (raw: Raw) => void> = {
  "bundle from a URL": (raw) => (raw.kubernetes.cni = { name: "bridge" }),
  "bundle from a folder": (raw) => (raw.kubernetes.cni = { name: "bridge" }),
  "switched off": (raw) => {
    raw.backups.enabled = false;
    raw.kubernetes.encryption.enabled = false;
    raw.kubernetes.audit.enabled = false;
  },
};

/** Keys of the every-key stack that a variant leaves out: it gives another in their place. */
const RULED_OUT: Record<string, string[]> = {
  "bundle from a URL": ["kubernetes.packages.source"],
  "bundle from a folder": ["kubernetes.packages.source"],
  "to S3 from a snapshot": ["backups.path", "restore.file"],
};

/** Whether `key`'s example goes in `variant`'s stack: a variant's own keys there only; the others everywhere but where ruled out. */
function inVariant(key: string, variant: string): boolean {
  const own = EXAMPLES[key].variant;
  return own !== undefined ? own === variant : !(RULED_OUT[variant] ?? []).includes(key);
}

/** The stack with every key of `variant` set where the stack leaves it out (parents first). */
function stackWithEveryKey(stack: string, variant: string): Raw {
  const raw: Raw = fromRawConfig(readStackFile(join(ROOT, "stacks"), stack).config);
  for (const key of [...KEYS].sort((a, b) => partsOf(a).length - partsOf(b).length)) {
    if (!inVariant(key, variant)) continue;
    const e = EXAMPLES[key];
    if (!key.includes("[]")) {
      // The stack's own value stays, unless the variant is about this key.
      if (!given(raw, key) || e.variant !== undefined) setAt(raw, key, (i) => e.value(raw, i));
      continue;
    }
    // A key of list items: set on the items of a list the stack gives, unless every item has it.
    const items = key.slice(0, key.lastIndexOf("[]") + 2);
    if (!given(raw, key.slice(0, key.indexOf("[]"))) || valuesAt(raw, key).length === valuesAt(raw, items).length) continue;
    setAt(raw, key, (i) => e.value(raw, i));
  }
  VARIANT_EDITS[variant]?.(raw);
  return raw;
}

/** The key a problem names, as the schema has it (`kubeadm-ha:nodePools[0].labels` -> `nodePools[].labels`), and its path. */
function keyOfProblem(p: ConfigProblem): { key: string; path: Array<string | number> } {
  const text = p.key.replace(/^kubeadm-ha:/, "");
  const path = text.split(/\.|(?=\[)/).map((s) => (/^\[\d+\]$/.test(s) ? Number(s.slice(1, -1)) : s));
  // An item of a list of values (`zones[1]`) is the list's key.
  let key = text.replace(/\[\d+\]/g, "[]");
  while (!KEYS.includes(key) && key.endsWith("[]")) key = key.slice(0, -2);
  return { key, path };
}

function remove(raw: Raw, path: Array<string | number>) {
  const parent = path.slice(0, -1).reduce((o: any, k) => o?.[k], raw);
  if (parent && typeof parent === "object") delete parent[path[path.length - 1]];
}

/**
 * Whether the code reading a key only walks or records the config rather than uses it: the
 * SDK looking for unknowns in whatever it is handed, the settled record (which copies what was
 * given so that a later up can compare).
 */
function walker(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 3;
  const caller = new Error().stack!.split("\n")[3] ?? "";
  Error.stackTraceLimit = limit;
  return /node_modules|config\/settled\.ts/.test(caller);
}

/**
 * A deep view of `value` that records each key read, as the schema names keys. A key copied
 * with the rest of its object (a spread, JSON.stringify: the engine asks for its descriptor
 * before it reads it) is not counted as read: a copy is not a use.
 */
function watched<T>(value: T, seen: Set<string>, key = ""): T {
  if (value === null || typeof value !== "object") return value;
  const described = new Set<PropertyKey>();
  return new Proxy(value as object, {
    getOwnPropertyDescriptor(target, prop) {
      described.add(prop);
      return Reflect.getOwnPropertyDescriptor(target, prop);
    },
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof prop === "symbol" || !Object.prototype.hasOwnProperty.call(target, prop)) return v;
      const k = Array.isArray(target) ? (/^\d+$/.test(prop) ? `${key}[]` : key) : key ? `${key}.${prop}` : prop;
      const copied = described.delete(prop);
      if (!copied && !walker()) seen.add(k);
      return watched(v, seen, k);
    },
  }) as T;
}

/** The secret keys, read through pulumi.Config (as secrets), not from the validated config: the names read. */
function watchConfigReads(): { names: Set<string>; restore: () => void } {
  const names = new Set<string>();
  const proto = pulumi.Config.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const methods = Object.getOwnPropertyNames(proto).filter((m) => /^(get|require)/.test(m));
  const originals = methods.map((m) => [m, proto[m]] as const);
  for (const [m, f] of originals)
    proto[m] = function (this: unknown, ...args: unknown[]) {
      names.add(String(args[0]));
      return f.apply(this, args);
    };
  return { names, restore: () => originals.forEach(([m, f]) => (proto[m] = f)) };
}

/**
 * Keys the program reads as Pulumi secrets, through pulumi.Config (the name it reads), rather
 * than from the validated config: the SSH key, and the S3 endpoint's key pair (read together).
 */
const THROUGH_PULUMI_CONFIG: Record<string, string> = { sshPrivateKey: "sshPrivateKey", "backups.s3.accessKeyId": "backups", "backups.s3.secretAccessKey": "backups" };

const flat = (raw: Raw, provider: Record<string, string>) => ({
  ...Object.fromEntries(Object.entries(provider).filter(([k]) => !k.startsWith(`${PROJECT}:`))),
  ...Object.fromEntries(Object.entries(raw).map(([k, v]) => [`${PROJECT}:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
});

/** Registers the check that every key of the schema has an example (a new key must get one to be checked here). */
export function testExamplesCoverTheSchema() {
  test("every key of the schema has an example value (a new key must get one to be checked here)", () => {
    assert.deepEqual(
      KEYS.filter((k) => !EXAMPLES[k]),
      [],
    );
    assert.deepEqual(
      Object.keys(EXAMPLES).filter((k) => !KEYS.some((key) => key === k || key.startsWith(k + ".") || key.startsWith(k + "["))),
      [],
      "examples of keys the schema no longer has",
    );
  });
}

/** Registers, for each variant, the check that every key given on `stack` reaches the cluster or is refused naming it. */
export function testEveryKeyApplies(stack: string) {
  for (const variant of VARIANTS) {
    test(`${stack}, ${variant}: every key given reaches the cluster or is refused naming it`, async () => {
      const provider = readStackFile(join(ROOT, "stacks"), stack).config;
      const raw = stackWithEveryKey(stack, variant);
      const refused: string[] = [];
      let config;
      for (let round = 0; ; round++) {
        try {
          config = validateClusterConfig(raw, stack, flat(raw, provider));
          break;
        } catch (e) {
          if (!(e instanceof ConfigError) || round > 3) throw e;
          for (const p of e.problems) {
            const { key, path } = keyOfProblem(p);
            // A refusal names what the stack gave (the key, or the map or list holding it).
            assert.ok(
              KEYS.some((k) => (k === key || k.startsWith(key + ".") || k.startsWith(key + "[")) && given(raw, k)),
              `${p.key} is refused, but the stack does not give it: ${p.message}`,
            );
            refused.push(key);
            remove(raw, path);
          }
        }
      }
      const givenKeys = KEYS.filter((k) => given(raw, k) && !KEYS.some((child) => child.startsWith(k + ".") || child.startsWith(k + "[]")));
      const seen = new Set<string>();
      const reads = watchConfigReads();
      try {
        const secretKeys = [...new Set(SECRET_KEYS.filter((k) => given(raw, k)).map((k) => `${PROJECT}:${partsOf(k)[0]}`))];
        installMocks(stack, flat(raw, provider), secretKeys, { [`${MOCK_ORGANIZATION}/${PROJECT}/${stack}`]: { [SETTLED_OUTPUT]: settledOf(config) } });
        const outputs = await clusterOf(watched(config, seen));
        await Promise.all(Object.values(outputs).map((o) => new Promise((r) => (pulumi.output(o as pulumi.Input<unknown>) as pulumi.Output<unknown>).apply(r))));
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        await (require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();
      } finally {
        reads.restore();
      }
      const read = (k: string) =>
        [...seen].some((s) => s === k || s.startsWith(k + ".") || s.startsWith(k + "[")) || (THROUGH_PULUMI_CONFIG[k] !== undefined && reads.names.has(THROUGH_PULUMI_CONFIG[k]));
      const ignored = givenKeys.filter((k) => !read(k));
      assert.deepEqual(ignored, [], `given on ${stack} (${variant}), neither refused (refused: ${refused.join(", ") || "none"}) nor read by the program`);
    });
  }
}
