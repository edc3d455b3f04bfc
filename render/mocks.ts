// The SDK's mock runtime, answered the way the clouds would answer: computed
// fields (ids, self links, service-account e-mails) and deterministic keys, so
// that two renders of the same stack are byte-identical. Used by the offline
// render and by the tests. Nothing here is used by `pulumi up`.
import * as pulumi from "@pulumi/pulumi";
import { createECDH, createHash, createPrivateKey, createPublicKey, KeyObject } from "crypto";
import { execFileSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { SIG_KEY } from "./wire";
import { RENDER_PLATFORMS } from "./platforms";
import { digest, hex, randomFromSeed } from "./seeded";

/** Project name of Pulumi.yaml: config keys are read in this namespace. */
export const PROJECT = "kubeadm-ha";

/** A P-256 key derived from a seed (mock only: real keys come from the tls provider). */
export function deterministicEcKey(seed: string): KeyObject {
  const d = digest("ec:" + seed);
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey();
  const b64u = (b: Buffer) => b.toString("base64url");
  return createPrivateKey({ key: { kty: "EC", crv: "P-256", d: b64u(d), x: b64u(pub.subarray(1, 33)), y: b64u(pub.subarray(33, 65)) }, format: "jwk" });
}

/** An Ed25519 key derived from a seed (mock only). */
export function deterministicEd25519Key(seed: string): KeyObject {
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), digest("ed25519:" + seed)]);
  return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function ed25519OpenSsh(key: KeyObject, comment: string): { publicKeyOpenssh: string; privateKeyOpenssh: string } {
  const pubRaw = createPublicKey(key).export({ format: "der", type: "spki" }).subarray(-32);
  const blob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(pubRaw)]);
  return {
    publicKeyOpenssh: `ssh-ed25519 ${blob.toString("base64")} ${comment}\n`,
    // Not a loadable OpenSSH key: the mock only needs a value the render hides.
    privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${digest("priv:" + comment).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----\n`,
  };
}

/**
 * A real self-signed certificate for the mock's CA key (openssl, as a CA would be).
 * openssl stamps the current time and signs with a random nonce, so each one is made
 * once per key and CN on this machine and reused: renders stay byte-identical, and
 * `render:diff` compares like with like.
 */
function selfSignedCert(keyPem: string, commonName: string): string {
  return opensslOutput({ "key.pem": keyPem }, [
    "req",
    "-x509",
    "-new",
    "-key",
    "{key.pem}",
    "-subj",
    `/CN=${commonName}`,
    "-days",
    "3650",
    "-set_serial",
    "1",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment",
  ]);
}

/**
 * What openssl prints for `args` run over `files` (written to a private folder first; `{name}`
 * in an argument is that file's path), cached by its inputs: the tls provider's CA, CSRs and
 * locally signed certificates, real PEM the machines' tools can read. Written aside and
 * renamed: renders running side by side never read half a file.
 */
function opensslOutput(files: Record<string, string>, args: string[]): string {
  const cacheDir = join(tmpdir(), "kubeadm-ha-mock-certs");
  const cached = join(
    cacheDir,
    createHash("sha256")
      .update(JSON.stringify([files, args]))
      .digest("hex") + ".pem",
  );
  if (existsSync(cached)) return readFileSync(cached, "utf8");
  const dir = mkdtempSync(join(tmpdir(), "kubeadm-ha-mock-"));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { mode: 0o600 });
    const pem = execFileSync(
      "openssl",
      args.map((a) => a.replace(/\{([a-z.-]+)\}/g, (_, f) => join(dir, f))),
      { encoding: "utf8" },
    );
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(dir, "out.pem"), pem);
    if (!existsSync(cached)) renameSync(join(dir, "out.pem"), cached);
    return readFileSync(cached, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The tls provider's allowed uses, as openssl extensions. */
function opensslExtensions(uses: string[] = []): string {
  const key = uses.filter((u) => ["digital_signature", "key_encipherment"].includes(u)).map((u) => (u === "digital_signature" ? "digitalSignature" : "keyEncipherment"));
  const ext = uses.filter((u) => ["client_auth", "server_auth"].includes(u)).map((u) => (u === "client_auth" ? "clientAuth" : "serverAuth"));
  return (
    ["basicConstraints=critical,CA:FALSE", ...(key.length ? [`keyUsage=critical,${key.join(",")}`] : []), ...(ext.length ? [`extendedKeyUsage=${ext.join(",")}`] : [])].join("\n") +
    "\n"
  );
}

/** The mock receives secret inputs wrapped; computed fields are derived from the plain values. */
function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (SIG_KEY in o && "value" in o) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

/** Computed outputs per resource type, as the provider would return them. */
export function mockState(
  type: string,
  name: string,
  wrapped: Record<string, any>,
  stackOutputs: Record<string, Record<string, unknown>> = {},
): { id: string; state: Record<string, unknown> } {
  const inputs = unwrapSecrets(wrapped) as Record<string, any>;
  if (type === "pulumi:pulumi:StackReference") {
    const stack = String(inputs.name);
    // The stack's own last outputs (what a cluster settled): none, as for a stack not up yet.
    if (stack === `${MOCK_ORGANIZATION}/${PROJECT}/${pulumi.getStack()}` && !stackOutputs[stack]) return { id: stack, state: { name: stack, outputs: {}, secretOutputNames: [] } };
    const outputs = stackOutputs[stack];
    if (!outputs) throw new Error(`unknown member stack ${JSON.stringify(stack)}: the offline render has no outputs for it`);
    return { id: stack, state: { name: stack, outputs, secretOutputNames: Object.keys(outputs).filter((k) => outputs[k] === "[secret]") } };
  }
  for (const p of RENDER_PLATFORMS) {
    const answer = p.mockResource(type, name, inputs);
    if (answer) return answer;
  }
  const id = `${inputs.name ?? name}-id`;
  switch (type) {
    case "tls:index/privateKey:PrivateKey": {
      const key = inputs.algorithm === "ED25519" ? deterministicEd25519Key(name) : deterministicEcKey(name);
      const pem = key.export({ format: "pem", type: key.asymmetricKeyType === "ec" ? "sec1" : "pkcs8" }) as string;
      const publicKeyPem = createPublicKey(key).export({ format: "pem", type: "spki" }) as string;
      const ssh = key.asymmetricKeyType === "ed25519" ? ed25519OpenSsh(key, name) : { publicKeyOpenssh: "", privateKeyOpenssh: "" };
      return { id, state: { ...inputs, privateKeyPem: pem, publicKeyPem, ...ssh } };
    }
    case "tls:index/certRequest:CertRequest":
      return {
        id,
        state: {
          ...inputs,
          certRequestPem: opensslOutput({ "key.pem": inputs.privateKeyPem }, ["req", "-new", "-key", "{key.pem}", "-subj", `/CN=${inputs.subject?.commonName ?? name}`]),
        },
      };
    case "tls:index/locallySignedCert:LocallySignedCert":
      return {
        id,
        state: {
          ...inputs,
          certPem: opensslOutput(
            { "csr.pem": inputs.certRequestPem, "ca.pem": inputs.caCertPem, "ca.key": inputs.caPrivateKeyPem, "ext.cnf": opensslExtensions(inputs.allowedUses) },
            [
              "x509",
              "-req",
              "-in",
              "{csr.pem}",
              "-CA",
              "{ca.pem}",
              "-CAkey",
              "{ca.key}",
              "-set_serial",
              "2",
              "-days",
              String(Math.max(1, Math.floor((inputs.validityPeriodHours ?? 24) / 24))),
              "-extfile",
              "{ext.cnf}",
            ],
          ),
        },
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
      return { id, state: { ...inputs, certPem: selfSignedCert(inputs.privateKeyPem, inputs.subject?.commonName ?? name) } };
    case "random:index/randomPassword:RandomPassword": {
      const chars =
        (inputs.lower === false ? "" : "abcdefghijklmnopqrstuvwxyz") +
        (inputs.upper === false ? "" : "ABCDEFGHIJKLMNOPQRSTUVWXYZ") +
        (inputs.numeric === false ? "" : "0123456789");
      return { id, state: { ...inputs, result: randomFromSeed(name, inputs.length, chars) } };
    }
    case "random:index/randomBytes:RandomBytes": {
      const h = hex(name, 2 * inputs.length);
      return { id, state: { ...inputs, hex: h, base64: Buffer.from(h, "hex").toString("base64") } };
    }
    case "random:index/randomId:RandomId": {
      const h = hex(name, 2 * inputs.byteLength);
      return {
        id: Buffer.from(h, "hex").toString("base64url"),
        state: { ...inputs, hex: h, b64Url: Buffer.from(h, "hex").toString("base64url"), dec: BigInt(`0x${h}`).toString() },
      };
    }
    case "command:remote:Command":
      return { id, state: { ...inputs, stdout: `(offline render: ${name} did not run)`, stderr: "" } };
    default:
      return { id, state: inputs };
  }
}

/** Answers to invokes, as the clouds would answer them for the stack's region. */
export function mockCall(
  token: string,
  inputs: Record<string, any>,
  config: Record<string, string>,
  stackOutputs: Record<string, Record<string, unknown>> = {},
): Record<string, unknown> {
  for (const p of RENDER_PLATFORMS) {
    const answer = p.mockInvoke(token, inputs, config);
    if (answer) return answer;
  }
  switch (token) {
    case "pulumi:pulumi:readStackOutputs": {
      // As the engine's builtin provider answers: the stack's outputs, or an error for a stack the backend does not have.
      const outputs = stackOutputs[String(inputs.name)];
      if (!outputs) throw new Error(`unknown stack ${JSON.stringify(String(inputs.name))}`);
      return { name: inputs.name, outputs, secretOutputNames: [] };
    }
    default:
      throw new Error(`the offline render has no answer for invoke ${token}; add one to render/mocks.ts or to its cloud's render/platforms/ module`);
  }
}

/** What the monitor saw of one registration: the request as the engine gets it. */
export interface Registration {
  urn: string;
  type: string;
  name: string;
  parent: string | null;
  custom: boolean;
  dependencies: string[];
  /** Inputs as serialized for the engine: nested secrets keep their own markers. */
  rawInputs: Record<string, unknown>;
  /** Resource options that change how the engine replaces or stores it (only those set). */
  options: ResourceOptionsSeen;
  /** Components: what they passed to registerOutputs (policies see these in stack analysis). */
  rawOutputs?: Record<string, unknown>;
}

export interface ResourceOptionsSeen {
  deleteBeforeReplace?: true;
  protect?: true;
  retainOnDelete?: true;
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  additionalSecretOutputs?: string[];
  /** URNs of the resources whose replacement replaces this one. */
  replaceWith?: string[];
  /** URNs this resource had before it moved (its aliases): the engine carries their state over. */
  aliases?: string[];
}

function optionsOf(req: any, urnOf: (parent: string | null, type: string, name: string) => string): ResourceOptionsSeen {
  const o: ResourceOptionsSeen = {};
  const aliases = (req.getAliasesList() as any[]).map((a) => {
    if (a.hasUrn()) return a.getUrn() as string;
    const spec = a.getSpec();
    return urnOf(spec.getNoparent() ? null : spec.getParenturn() || req.getParent() || null, spec.getType() || req.getType(), spec.getName() || req.getName());
  });
  if (aliases.length) o.aliases = aliases;
  if (req.getDeletebeforereplace()) o.deleteBeforeReplace = true;
  if (req.getProtect()) o.protect = true;
  if (req.getRetainondelete()) o.retainOnDelete = true;
  const lists: Array<[keyof ResourceOptionsSeen, string[]]> = [
    ["ignoreChanges", req.getIgnorechangesList()],
    ["replaceOnChanges", req.getReplaceonchangesList()],
    ["additionalSecretOutputs", req.getAdditionalsecretoutputsList()],
    ["replaceWith", req.getReplaceWithList()],
  ];
  for (const [k, v] of lists) if (v.length) (o as Record<string, unknown>)[k] = [...v];
  return o;
}

/**
 * Installs the mocks for one program run and returns the list that fills up with
 * every registration. `config` is the stack's config map (`ns:key` -> value).
 */
/** The organization of a DIY backend's stacks (file://, s3://, ...), which the render stands in for. */
export const MOCK_ORGANIZATION = "organization";

export function installMocks(stack: string, config: Record<string, string>, secretKeys: string[] = [], stackOutputs: Record<string, Record<string, unknown>> = {}): Registration[] {
  pulumi.runtime.setAllConfig(config, secretKeys);
  pulumi.runtime.setMocks(
    {
      newResource: (a) => mockState(a.type, a.name, a.inputs, stackOutputs),
      call: (a) => mockCall(a.token, a.inputs, config, stackOutputs),
    },
    PROJECT,
    stack,
    false,
    MOCK_ORGANIZATION,
  );
  const registrations: Registration[] = [];
  const monitor = pulumi.runtime.getMonitor() as any;
  // URNs as the engine makes them: a child's type is qualified by its parent's whole type
  // chain (the stack itself is not part of it). The SDK's mock monitor uses only the
  // parent's own type, which names nested resources differently from `pulumi preview`.
  monitor.newUrn = (parent: string | null, type: string, name: string) => {
    const chain = parent ? parent.split("::")[2] : undefined;
    const qualified = chain && chain !== "pulumi:pulumi:Stack" ? `${chain}$${type}` : type;
    return `urn:pulumi:${stack}::${PROJECT}::${qualified}::${name}`;
  };
  // Registrations and reads (StackReferences) are both resources of the stack.
  for (const method of ["registerResource", "readResource"] as const) {
    const original = monitor[method].bind(monitor);
    const read = method === "readResource";
    monitor[method] = (req: any, callback: any) => {
      const parent: string = req.getParent() || null;
      registrations.push({
        urn: monitor.newUrn(parent, req.getType(), req.getName()),
        type: req.getType(),
        name: req.getName(),
        parent,
        custom: read ? true : req.getCustom(),
        dependencies: [...req.getDependenciesList()],
        rawInputs: (read ? req.getProperties() : req.getObject())?.toJavaScript() ?? {},
        options: read ? {} : optionsOf(req, monitor.newUrn),
      });
      return original(req, callback);
    };
  }
  // A component's registerOutputs: kept with its registration.
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req: any, callback: any) => {
    const reg = registrations.find((r) => r.urn === req.getUrn());
    const outputs = req.getOutputs()?.toJavaScript() ?? {};
    if (reg && Object.keys(outputs).length) reg.rawOutputs = outputs;
    return registerOutputs(req, callback);
  };
  return registrations;
}
