// Generated from the schema itself: for every key of a cluster stack, a value of the wrong
// type and a value out of its range are refused naming that key, quoting the value, with a
// fix written for that key (not a parent's), whatever the key. A new key gets these checks
// by being in the schema. The schema's JSON Schema (zod's export) says each key's type,
// range, pattern and choices.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "path";
import { z } from "zod";
import { clusterConfigSchema, FIX_HINTS } from "../components/config/schema";
import { ConfigError, fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { readStackFile } from "../render/render";
import { ROOT } from "./helpers";

type Json = {
  type?: string | string[];
  properties?: Record<string, Json>;
  items?: Json;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  minItems?: number;
  additionalProperties?: Json | boolean;
  anyOf?: Json[];
};

/** Every leaf key: its path (list items as index 0) and its JSON Schema. */
function leaves(s: Json, path: Array<string | number> = []): Array<{ path: Array<string | number>; schema: Json }> {
  if (s.properties) return Object.entries(s.properties).flatMap(([k, v]) => leaves(v, [...path, k]));
  if (s.type === "array" && s.items?.properties) return [{ path, schema: s }, ...leaves(s.items, [...path, 0])];
  return [{ path, schema: s }];
}

const SCHEMA = z.toJSONSchema(clusterConfigSchema, { io: "input", unrepresentable: "any" }) as Json;
const KEYS = leaves(SCHEMA).filter(({ path }) => path[0] !== "layout");
const dotted = (path: Array<string | number>) => path.filter((p) => typeof p === "string").join(".");
const keyName = (path: Array<string | number>) => "kubeadm-ha:" + path.map((p, i) => (typeof p === "number" ? `[${p}]` : (i ? "." : "") + p)).join("");

/** A stack that passes, on the platform where the key applies, with the key's parents present. */
function baseFor(path: Array<string | number>): { raw: Record<string, unknown>; config: Record<string, string>; stack: string } {
  const staticKey = path[0] === "hosts" || (path[0] === "backups" && path[1] === "s3") || (path[0] === "endpoint" && path[1] === "vip");
  const stack = staticKey ? "onprem-vip" : "gcp-three-zone";
  const { config } = readStackFile(join(ROOT, "stacks"), stack);
  const raw = fromRawConfig(config);
  if (path[0] === "backups" && path[1] === "s3")
    raw.backups = {
      destination: "s3",
      s3: { endpoint: "https://s3.example.com", bucket: "etcd-backups", region: "us-east-1", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret-key" },
    };
  if (path[0] === "nodePools" && !Array.isArray(raw.nodePools)) raw.nodePools = [{ name: "general" }];
  if (path[0] === "nodePools" && path[2] === "taints") (raw.nodePools as Array<Record<string, unknown>>)[0].taints = [{ key: "dedicated", value: "batch", effect: "NoSchedule" }];
  if (path[0] === "restore") raw.restore = { file: __filename };
  if (path[0] === "hosts" && path[1] === "etcd") {
    raw.etcd = { topology: "external" };
    (raw.hosts as Record<string, unknown>).etcd = ["a", "b", "c"].map((z, i) => ({ name: `dc1-etcd-${i}`, address: `10.103.97.${220 + i}`, zone: `rack-${z}` }));
  }
  return { raw, config, stack };
}

function withValue(raw: Record<string, unknown>, path: Array<string | number>, value: unknown): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(raw));
  let o = copy;
  for (const p of path.slice(0, -1)) {
    if (o[p] === undefined || o[p] === null) o[p] = typeof p === "number" ? {} : {};
    o = o[p];
  }
  o[path[path.length - 1]] = value;
  return copy;
}

/** The problems validating it raises (none: it passed). */
function problems(raw: Record<string, unknown>, stack: string, config: Record<string, string>) {
  try {
    validateClusterConfig(raw, stack, config);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

const typeOf = (s: Json): string => (Array.isArray(s.type) ? s.type[0] : (s.type ?? (s.anyOf ? "any" : "any")));

/** A value of another type than the key's. */
function wrongType(s: Json): unknown {
  if (s.enum) return 12345;
  switch (typeOf(s)) {
    case "string":
      return 12345;
    case "integer":
    case "number":
      return "not-a-number";
    case "boolean":
      return "yes";
    case "array":
      return "not-a-list";
    case "object":
      return "not-a-map";
    default:
      return undefined;
  }
}

/** Values of the key's type that its range, pattern or choices refuse. */
function outOfRange(s: Json): unknown[] {
  if (s.enum) return ["not-one-of-the-choices"];
  const t = typeOf(s);
  const out: unknown[] = [];
  if (t === "integer" || t === "number") {
    if (s.minimum !== undefined) out.push(s.minimum - 1);
    if (s.maximum !== undefined && s.maximum < 1e15) out.push(s.maximum + 1);
    if (t === "integer") out.push(1.5);
  }
  if (t === "string") {
    if (s.pattern) out.push("Not Valid! ~");
    if (s.maxLength !== undefined) out.push("a".repeat(s.maxLength + 1));
    if (s.minLength) out.push("");
  }
  if (t === "array" && s.minItems) out.push([]);
  return out;
}

test("the schema walk finds every key (more than 80), each with a type", () => {
  assert.ok(KEYS.length > 80, `walked only ${KEYS.length} keys`);
  for (const { path, schema } of KEYS)
    assert.ok(schema.type !== undefined || schema.enum || schema.anyOf || schema.additionalProperties !== undefined, `${dotted(path)} has no type`);
});

for (const { path, schema } of KEYS) {
  const bad = [...(wrongType(schema) === undefined ? [] : [wrongType(schema)]), ...outOfRange(schema)];
  if (!bad.length) continue;
  test(`${keyName(path)}: a value of the wrong type or out of range is refused naming the key, with its own fix`, () => {
    const { raw, config, stack } = baseFor(path);
    assert.deepEqual(problems(raw, stack, config), [], `the base stack ${stack} passes`);
    for (const value of bad) {
      const found = problems(withValue(raw, path, value), stack, config);
      const mine = found.find((p) => p.key === keyName(path));
      assert.ok(mine, `${JSON.stringify(value)} at ${keyName(path)} should be refused naming it; got ${JSON.stringify(found)}`);
      assert.ok(mine.message.includes(JSON.stringify(value)) || /\[secret\]/.test(mine.message), `the message should quote ${JSON.stringify(value)}: ${mine.message}`);
      if (typeof value === "string" && value.length > 2) assert.ok(!mine.fix.includes(value), `the fix should not suggest the value refused: ${mine.fix}`);
      assert.ok(
        FIX_HINTS[dotted(path)] !== undefined || !found.some((p) => p.key === keyName(path) && p.fix === FIX_HINTS[dotted(path.slice(0, -1))]),
        `the fix is a parent key's: ${mine.fix}`,
      );
    }
  });
}

/**
 * Keys that mean nothing on a platform or endpoint mode, with a value that would be right
 * where they apply: each is refused there, naming it, never ignored.
 */
const NOT_APPLYING: Record<string, { stack: string; keys: Record<string, unknown> }> = {
  "hosts you own (vip)": {
    stack: "onprem-vip",
    keys: {
      region: "europe-west1",
      zones: ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
      adminCidrs: ["198.51.100.0/24"],
      image: "ubuntu-os-cloud/ubuntu-2404-lts-amd64",
      "bastion.machineType": "e2-small",
      "controlPlane.count": 3,
      "controlPlane.machineType": "e2-standard-4",
      "controlPlane.diskSizeGb": 100,
      nodePools: [{ name: "general" }],
      sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkG0b9Pd4rA0X0wBn0JmIFp5p3h8pLr2n3tJ4X1eC9F user@host",
      "network.natGateways": "single",
    },
  },
  "hosts you own (local-proxy)": { stack: "onprem-local-proxy", keys: { "endpoint.vip": "10.103.97.2", "endpoint.interface": "eth1" } },
  gcp: {
    stack: "gcp-three-zone",
    keys: {
      "hosts.sshUser": "ubuntu",
      "endpoint.vip": "10.10.0.5",
      "endpoint.interface": "eth0",
      "network.natGateways": "single",
      "backups.path": "/var/backups/kubeadm-ha",
      "kubernetes.packages.source": "bundle",
      "kubernetes.cni.name": "bridge",
    },
  },
  aws: {
    stack: "aws-three-az",
    keys: {
      "hosts.sshUser": "ubuntu",
      "endpoint.vip": "10.20.0.5",
      "endpoint.interface": "eth0",
      "backups.path": "/var/backups/kubeadm-ha",
      "kubernetes.packages.source": "bundle",
      "kubernetes.cni.name": "bridge",
    },
  },
};

for (const [where, { stack, keys }] of Object.entries(NOT_APPLYING)) {
  for (const [key, value] of Object.entries(keys)) {
    test(`${key} on ${where} is refused, naming it: it does not apply there`, () => {
      const { config } = readStackFile(join(ROOT, "stacks"), stack);
      const raw = fromRawConfig(config);
      assert.deepEqual(problems(raw, stack, config), [], `the base stack ${stack} passes`);
      const path = key.split(".");
      const found = problems(withValue(raw, path, value), stack, config);
      // The key itself, or its first part (a whole map that does not apply, such as hosts).
      const named = found.find((p) => p.key === `kubeadm-ha:${key}` || p.key === `kubeadm-ha:${path[0]}` || p.key === `kubeadm-ha:${path.slice(0, 2).join(".")}`);
      assert.ok(named, `expected a problem naming kubeadm-ha:${key}; got ${JSON.stringify(found)}`);
      assert.ok(named.fix.length > 0 && !/^see /.test(named.fix), `a fix for that key: ${named.fix}`);
    });
  }
}
