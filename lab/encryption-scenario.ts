// Secrets encrypted at rest and the audit log on the lab's running cluster (plan/encryption.ts,
// plan/audit.ts), checked where they land: etcd's stored bytes and the masters' audit logs.
//
// A Secret written after the bring-up is stored with the cluster's key (its value in etcd
// starts with k8s:enc:secretbox:v1:key-1:) and reads back through the API; each master's audit
// log names the read without the Secret's data. Then the key is rotated by `pulumi up` with
// kubernetes.encryption.keyRound 2 while Secrets are written through one master's apiserver
// and read through another's, all through the rotation (none may fail: no apiserver is ever
// unable to read what another wrote); afterwards the Secret written before the rotation is
// stored under key-2, and the `encryption` output names key-1 as the key still read. The stack
// keeps keyRound 2 for the scenarios after this one (a running cluster's round never goes down).
import { readFileSync, writeFileSync } from "fs";
import { parse, stringify } from "yaml";
import { LabCluster, stepSpans } from "./cluster";
import { ClusterFacts, etcdctlIn, masterOf } from "./cluster-scenarios";
import { ENCRYPTION_OUTPUT, EncryptionOutput, storedPrefix } from "../components/plan/encryption";
import { AUDIT_LOG } from "../components/plan/audit";

export interface EncryptionRun {
  /** The first bytes etcd stores for a Secret written after the bring-up (its value's prefix, to pass). */
  stored: string;
  readBack: boolean;
  /** Masters whose audit log has the read of that Secret; events of it with a body (none, to pass); its data in any log (no, to pass). */
  auditedOn: string[];
  withBodies: number;
  dataInLog: boolean;
  rotation: {
    upOk: boolean;
    failure: string;
    upSeconds: number;
    /** The phases' steps in the up, when each started and ended. */
    steps: Record<string, { start: number; end: number }>;
    /** Writes through one master's apiserver read back through another's, during the up. */
    crossRequests: number;
    crossFailures: number;
    firstCrossFailure: string;
    /** The Secret written before the rotation, as etcd stores it afterwards, and read through the API. */
    storedAfter: string;
    readBackAfter: boolean;
    output?: EncryptionOutput;
    /** Apiservers started again during the up (none: a rotation restarts nothing), each with why. */
    restarts: string[];
  };
}

const SECRET = "kubeadm-ha-lab-encryption";
const DATA = "lab-secret-value-that-must-never-be-logged";
const etcdctlGet = (master: string, key: string) => [...etcdctlIn(master), "get", key, "--print-value-only"];

/** The first bytes of a Secret's value in etcd, read on `master`'s member. */
async function storedBytes(c: LabCluster, master: string, name: string): Promise<string> {
  return (await c.kubectl(master, etcdctlGet(master, `/registry/secrets/default/${name}`))).slice(0, 40);
}

async function readsBack(c: LabCluster, master: string, name: string): Promise<boolean> {
  const out = await c.kubectl(master, ["-n", "default", "get", "secret", name, "-o", "jsonpath={.data.value}"]).catch(() => "");
  return Buffer.from(out, "base64").toString() === DATA;
}

export async function encryptionAndAudit(c: LabCluster, f: ClusterFacts, log: (s: string) => void): Promise<EncryptionRun> {
  const master = masterOf(f);
  await c.kubectl(master, ["-n", "default", "create", "secret", "generic", SECRET, `--from-literal=value=${DATA}`]);
  const stored = await storedBytes(c, master, SECRET);
  const readBack = await readsBack(c, master, SECRET);
  log(`encryption: ${SECRET} stored as ${JSON.stringify(stored)}, read back ${readBack}`);

  // The audit log: the reads of the Secret (the create above and the get), never its data.
  const logs = await Promise.all(f.masters.map(async (m) => ({ m, text: (await c.exec(m, ["cat", AUDIT_LOG])).stdout })));
  type AuditEvent = { verb: string; objectRef?: { resource?: string; name?: string }; requestObject?: unknown; responseObject?: unknown };
  // (The apiserver may be writing the last line as it is read: a line that does not parse is left out.)
  const parsed = (l: string): AuditEvent[] => {
    try {
      return [JSON.parse(l) as AuditEvent];
    } catch {
      return [];
    }
  };
  const events = logs.flatMap(({ m, text }) =>
    text
      .split("\n")
      .filter((l) => l.includes(SECRET))
      .flatMap((l) => parsed(l).map((e) => ({ m, e }))),
  );
  const reads = events.filter(({ e }) => e.verb === "get" && e.objectRef?.resource === "secrets" && e.objectRef?.name === SECRET);
  const auditedOn = [...new Set(reads.map(({ m }) => m))];
  const withBodies = events.filter(({ e }) => e.requestObject !== undefined || e.responseObject !== undefined).length;
  const dataInLog = logs.some(({ text }) => text.includes(DATA) || text.includes(Buffer.from(DATA).toString("base64")));
  log(`audit: the read of ${SECRET} logged on ${auditedOn.join(", ") || "NO master"}; events with a body ${withBodies}; its data in a log: ${dataInLog}`);

  const rotation = await rotate(c, f, log);
  return { stored, readBack, auditedOn, withBodies, dataInLog, rotation };
}

async function rotate(c: LabCluster, f: ClusterFacts, log: (s: string) => void): Promise<EncryptionRun["rotation"]> {
  const master = masterOf(f);
  const addresses = await Promise.all(
    f.masters.map(async (m) => (await c.kubectl(master, ["get", "node", m, "-o", 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}'])).trim()),
  );
  const apiservers = await c.apiserverProcesses(f.masters);
  // Through the rotation: a Secret written through master i's apiserver, read through master i+1's.
  let done = false;
  let crossRequests = 0;
  let crossFailures = 0;
  let firstCrossFailure = "";
  const cross = (async () => {
    for (let i = 0; !done; i++) {
      const [w, r] = [i % f.masters.length, (i + 1) % f.masters.length];
      const name = `rotation-${i}`;
      const at = (k: number) => ["--server", `https://${addresses[k]}:6443`];
      crossRequests++;
      try {
        await c.kubectl(f.masters[w], [...at(w), "-n", "default", "create", "secret", "generic", name, `--from-literal=value=${i}`]);
        const got = await c.kubectl(f.masters[r], [...at(r), "-n", "default", "get", "secret", name, "-o", "jsonpath={.data.value}"]);
        if (Buffer.from(got, "base64").toString() !== String(i)) throw new Error(`${name} read through ${f.masters[r]}: ${JSON.stringify(got)}`);
      } catch (e) {
        crossFailures++;
        firstCrossFailure ||= (e as Error).message.slice(0, 300);
      }
    }
  })();

  const file = c.engine.configFile(c.stack);
  const doc = parse(readFileSync(file, "utf8"));
  const k = (doc.config["kubeadm-ha:kubernetes"] ??= {});
  k.encryption = { ...(k.encryption ?? {}), keyRound: 2 };
  writeFileSync(file, stringify(doc));
  log("encryption: pulumi up with kubernetes.encryption.keyRound 2, Secrets written through one master and read through another meanwhile");
  const t0 = Date.now();
  const up = await c.upLogged([]);
  const upSeconds = (Date.now() - t0) / 1000;
  done = true;
  await cross;
  const failure = up.code === 0 ? "" : await c.failureOf(up.output, 60);
  // A rotation restarts no apiserver: one that did is why a request was refused.
  const restarts = await c.apiserverRestarts(apiservers);
  const steps = Object.fromEntries(Object.entries(stepSpans(up.events)).filter(([n]) => /-encryption(-read|-rewrite)?$/.test(n)));
  const storedAfter = await storedBytes(c, master, SECRET);
  const readBackAfter = await readsBack(c, master, SECRET);
  const output = JSON.parse((await c.engine.must(["stack", "output", ENCRYPTION_OUTPUT, "--json", "--stack", c.stack, "--non-interactive"])).trim() || "null") as
    EncryptionOutput | undefined;
  log(
    `encryption: rotation up ${up.code === 0 ? `in ${upSeconds.toFixed(0)} s` : `FAILED:\n${failure}`}; cross-master failures ${crossFailures}/${crossRequests}${firstCrossFailure ? ` (first: ${firstCrossFailure})` : ""}; ${SECRET} now stored as ${JSON.stringify(storedAfter)}, read back ${readBackAfter}; output ${JSON.stringify(output)}${restarts.length ? `\napiservers restarted during the rotation:\n${restarts.join("\n")}` : ""}`,
  );
  return { upOk: up.code === 0, failure, upSeconds, steps, crossRequests, crossFailures, firstCrossFailure, storedAfter, readBackAfter, output: output ?? undefined, restarts };
}

/** What must hold: [what, held]. */
export function encryptionChecks(r: EncryptionRun, masters: string[]): Array<[string, boolean]> {
  const key1 = storedPrefix({ provider: "secretbox", round: 1 });
  const key2 = storedPrefix({ provider: "secretbox", round: 2 });
  const rot = r.rotation;
  const phase = (suffix: RegExp) =>
    Object.entries(rot.steps)
      .filter(([n]) => suffix.test(n))
      .map(([, s]) => s);
  const [reads, uses, rewrite] = [phase(/-encryption-read$/), phase(/-encryption$/), phase(/-encryption-rewrite$/)];
  const ordered =
    reads.length === masters.length &&
    uses.length === masters.length &&
    rewrite.length === 1 &&
    Math.min(...uses.map((s) => s.start)) >= Math.max(...reads.map((s) => s.end)) &&
    rewrite[0].start >= Math.max(...uses.map((s) => s.end));
  return [
    [`a Secret is stored encrypted with the cluster's key (${JSON.stringify(r.stored)})`, r.stored.startsWith(key1)],
    ["it reads back through the API", r.readBack],
    [`its read is in the audit log of the master that served it (${r.auditedOn.join(", ") || "none"})`, r.auditedOn.length >= 1],
    ["no audit event carries a body, and the Secret's data is in no log", r.withBodies === 0 && !r.dataInLog],
    [`pulumi up rotated the key in ${rot.upSeconds.toFixed(0)} s${rot.failure ? `: ${rot.failure}` : ""}`, rot.upOk],
    ["every master read the new key before any wrote with it, and every Secret was written again after", ordered],
    [`no apiserver restarted during the rotation${rot.restarts.length ? `: ${rot.restarts.join("; ")}` : ""}`, rot.restarts.length === 0],
    [
      `every Secret written through one apiserver read back through another during the rotation (${rot.crossFailures}/${rot.crossRequests} failed)`,
      rot.crossRequests > 0 && rot.crossFailures === 0,
    ],
    [`the Secret written before the rotation is stored under key-2 (${JSON.stringify(rot.storedAfter)}) and reads back`, rot.storedAfter.startsWith(key2) && rot.readBackAfter],
    [
      `the encryption output says key-2, key-1 still read (${JSON.stringify(rot.output)})`,
      rot.output?.keyRound === 2 && JSON.stringify(rot.output?.previous) === JSON.stringify({ provider: "secretbox", round: 1 }),
    ],
  ];
}

export const encryptionHeld = (r: EncryptionRun, masters: string[]) => encryptionChecks(r, masters).every(([, held]) => held);
