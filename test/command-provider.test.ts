// Our pulumi-resource-command (pulumi-command 1.2.1's remote.Command protocol, built by the
// toolchain because the module proxy refuses the real module) under the real Pulumi CLI,
// against a real sshd this test starts on 127.0.0.1 with its own host key and an
// authorized key it generates. A tiny TypeScript program of remote.Command resources is
// changed between runs: create, stdin, environment, proxy, a pinned host key; a changed
// create updates, a changed trigger replaces (the old delete runs with the old stdout);
// failures carry the exit status and the output; dial errors honour dialErrorLimit; a
// secret stdin never reaches the state or the logs; a second up has nothing to do;
// destroy runs the deletes.
//
// remote.CopyToRemote (copy.go) through the same sshd's SFTP subsystem, into a folder of this
// machine: a directory FileArchive (nested folders, an executable, private files, a 50 MB
// file, hundreds of small files) lands in remotePath/<folder> with its contents and modes,
// a FileAsset and a StringAsset where remotePath says (parents created); a preview copies
// nothing; progress is a few ephemeral lines; a second up copies nothing; a changed file
// updates in place (copied again), a changed trigger replaces (copied again), a changed
// connection alone updates without copying; a remotePath whose parent the login cannot
// write fails naming that path; destroy leaves the copied files.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "child_process";
import { createHash, randomBytes } from "crypto";
import { appendFileSync, chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { createServer, connect, Server } from "net";
import { dirname, join } from "path";
import { toolchainVersions } from "../toolchain/recipes";
import { changedSteps, ENGINE_TOOLS, PulumiEngine, readEventLog, RunResult } from "../engine/pulumi";
import { freePort, ROOT, tempDir, toolchainSkip } from "./helpers";

const SSHD = "/usr/sbin/sshd";
const STACK = "cmd";
const SECRET = "s3cr3t-" + Math.random().toString(36).slice(2, 12);

function why(): string | undefined {
  const tools = toolchainSkip([...ENGINE_TOOLS]);
  if (tools) return tools;
  const onCi = process.env.CI === "true";
  if (!existsSync(SSHD)) {
    const msg = `no ${SSHD}: install openssh-server (setup.sh does)`;
    if (onCi) throw new Error(`CI installs openssh-server, yet ${msg}`);
    return msg;
  }
  if (process.getuid?.() !== 0) {
    const msg = "sshd runs as root here (its own host key, a root login with a generated key): run the tests as root, as CI does";
    if (onCi) throw new Error(`CI runs as root, yet ${msg}`);
    return msg;
  }
  return undefined;
}
const skip = why();
if (skip) console.log(`# command provider tests skipped: ${skip}`);
const log = (l: string) => console.log(`# ${l}`);

/** Resolves once something on `port` speaks SSH (at most `tries` attempts, 100 ms apart). */
async function waitForSsh(port: number, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const banner = await new Promise<string>((resolve) => {
      const c = connect(port, "127.0.0.1");
      let got = "";
      c.on("data", (d) => {
        got += d.toString();
        c.destroy();
        resolve(got);
      });
      c.on("error", () => resolve(""));
    });
    if (banner.startsWith("SSH-2.0")) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port}`);
}

interface Cmd {
  name: string;
  create?: string;
  update?: string;
  delete?: string;
  stdin?: string;
  secretStdin?: boolean;
  secretStdout?: boolean;
  triggers?: unknown[];
  environment?: Record<string, string>;
  logging?: "stdout" | "stderr" | "stdoutAndStderr" | "none";
  port?: number;
  dialErrorLimit?: number;
  perDialTimeout?: number;
  hostKey?: string;
  proxy?: boolean;
}

interface Copy {
  name: string;
  /** A FileArchive of a folder, a FileAsset, or a StringAsset. */
  kind: "dir" | "file" | "text";
  path?: string;
  text?: string;
  remotePath: string;
  triggers?: unknown[];
  user?: string;
  perDialTimeout?: number;
}

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { readFileSync } from "fs";
import { join } from "path";

const spec = JSON.parse(readFileSync(join(__dirname, "spec.json"), "utf8"));
const privateKey = pulumi.secret(readFileSync(spec.keyFile, "utf8"));
for (const c of spec.commands) {
  new command.remote.Command(c.name, {
    connection: {
      host: "127.0.0.1",
      port: c.port ?? spec.port,
      privateKey,
      dialErrorLimit: c.dialErrorLimit,
      perDialTimeout: c.perDialTimeout,
      hostKey: c.hostKey,
      proxy: c.proxy ? { host: "127.0.0.1", port: spec.port, privateKey } : undefined,
    },
    create: c.create,
    update: c.update,
    delete: c.delete,
    stdin: c.stdin === undefined ? undefined : c.secretStdin ? pulumi.secret(c.stdin) : c.stdin,
    triggers: c.triggers,
    environment: c.environment,
    logging: c.logging,
  }, { additionalSecretOutputs: c.secretStdout ? ["stdout"] : undefined });
}
for (const c of spec.copies ?? []) {
  new command.remote.CopyToRemote(c.name, {
    connection: { host: "127.0.0.1", port: spec.port, user: c.user, privateKey, perDialTimeout: c.perDialTimeout },
    source:
      c.kind === "dir" ? new pulumi.asset.FileArchive(c.path)
      : c.kind === "file" ? new pulumi.asset.FileAsset(c.path)
      : new pulumi.asset.StringAsset(c.text),
    remotePath: c.remotePath,
    triggers: c.triggers,
  });
}
`;

interface StateResource {
  urn: string;
  type: string;
  id?: string;
  outputs?: Record<string, any>;
}

interface EngineEvent {
  diagnosticEvent?: { urn?: string; message: string; severity: string; ephemeral?: boolean };
}

describe("our pulumi-resource-command under the real Pulumi CLI, against a real sshd", { skip, timeout: 15 * 60_000 }, () => {
  let dir: string;
  let project: string;
  let sshd: ChildProcess | undefined;
  let sshdLog = "";
  let port: number;
  let engine: PulumiEngine;
  let events = 0;
  let hostPub: string;
  const LOG = () => join(dir, "remote.log");
  const remoteLog = () => (existsSync(LOG()) ? readFileSync(LOG(), "utf8") : "");

  const write = (commands: Cmd[], copies: Copy[] = []) =>
    writeFileSync(join(project, "spec.json"), JSON.stringify({ port, keyFile: join(dir, "client"), commands, copies }, null, 2));

  /** Everything the runs showed a person (secrets must never be there). */
  const seen: Array<[string, string]> = [];
  /** `pulumi <verb>` of the program; its output and the engine events it logged. */
  async function pulumi(verb: string[], extra: string[] = []): Promise<RunResult & { events: EngineEvent[] }> {
    const eventLog = join(dir, `events-${++events}.json`);
    const r = await engine.run([...verb, ...engine.stackArgs(STACK), "--event-log", eventLog, ...extra]);
    const parsed = readEventLog<EngineEvent>(eventLog);
    // What a person sees: the CLI's output and every message but debug ones (shown with
    // --debug only: there the SDK dumps the properties it registers, secrets included, and the
    // rest of the debug event log holds them too, by design).
    seen.push([`pulumi ${verb.join(" ")} (run ${events}) output`, r.stdout + r.stderr]);
    const messages = diagnostics(parsed).filter((d) => d.severity !== "debug");
    seen.push([`pulumi ${verb.join(" ")} (run ${events}) messages`, messages.map((d) => d.message).join("\n")]);
    return { ...r, events: parsed };
  }
  const up = (extra: string[] = []) => pulumi(["up", "--yes"], extra);
  const mustUp = async (extra: string[] = []) => {
    const r = await up(extra);
    assert.equal(r.code, 0, `pulumi up failed:\n${r.stdout}\n${r.stderr}\nsshd:\n${sshdLog.slice(-3000)}`);
    return r;
  };
  const diagnostics = (evs: EngineEvent[], name?: string) =>
    evs.flatMap((e) => (e.diagnosticEvent && (!name || e.diagnosticEvent.urn?.endsWith(`::${name}`)) ? [e.diagnosticEvent] : []));
  async function state(type = "command:remote:Command"): Promise<Map<string, StateResource>> {
    const { json } = await engine.exportStack(STACK);
    const resources = ((json as any).deployment.resources ?? []) as StateResource[];
    return new Map(resources.filter((r) => r.type === type).map((r) => [r.urn.split("::").pop()!, r]));
  }
  /** Where the secret appears, with some context (the secret itself masked). */
  const secretsLeak = (texts: Array<[string, string]>) =>
    texts.flatMap(([where, t]) => {
      const i = t.indexOf(SECRET);
      return i < 0 ? [] : [`${where}: ...${t.slice(Math.max(0, i - 200), i + SECRET.length + 40).replaceAll(SECRET, "<SECRET>")}...`];
    });

  before(async () => {
    dir = tempDir("kubeadm-ha-command-");
    // The host key, the client key, authorized_keys and sshd's config, all in the temporary folder.
    // sshd reads authorized_keys as the user logging in: `nobody` (the unwritable-path test)
    // must reach it.
    chmodSync(dir, 0o711);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kubeadm-ha-test-host", "-f", join(dir, "host")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kubeadm-ha-test-client", "-f", join(dir, "client")]);
    hostPub = readFileSync(join(dir, "host.pub"), "utf8").trim();
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client.pub")), { mode: 0o644 });
    port = await freePort();
    const config = [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PidFile none",
      "UsePAM no",
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "AllowTcpForwarding yes",
      // CopyToRemote's SFTP; in-process, so a login whose shell is nologin gets it too.
      "Subsystem sftp internal-sftp",
      // The variables the provider sends; every other one is refused, as sshd does by default.
      "AcceptEnv PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR KH_*",
    ].join("\n");
    writeFileSync(join(dir, "sshd_config"), config + "\n");
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege separation folder
    execFileSync(SSHD, ["-t", "-f", join(dir, "sshd_config")]);
    sshd = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    sshd.stderr!.on("data", (d) => (sshdLog += d));
    const stopSshd = () => sshd?.exitCode === null && sshd.kill("SIGTERM");
    process.once("exit", stopSshd);
    await waitForSsh(port);

    // The program: its own project folder, with this repository's node_modules.
    project = join(dir, "project");
    mkdirSync(join(project, "stacks"), { recursive: true });
    writeFileSync(join(project, "Pulumi.yaml"), "name: kubeadm-ha-command-test\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nstackConfigDir: stacks\n");
    writeFileSync(join(project, "stacks", `Pulumi.${STACK}.yaml`), "config: {}\n");
    writeFileSync(join(project, "index.ts"), PROGRAM);
    symlinkSync(join(ROOT, "node_modules"), join(project, "node_modules"));
    engine = await PulumiEngine.start({ root: project, versions: toolchainVersions(ROOT), log });
    // No agent of the person running the tests: the provider would offer its keys too.
    delete engine.env.SSH_AUTH_SOCK;
    // --event-log (every engine event, the provider's messages among them) is a debug flag.
    engine.env.PULUMI_DEBUG_COMMANDS = "true";
    await engine.initStack(STACK);
  });

  after(() => {
    engine?.dispose();
    if (sshd && sshd.exitCode === null) sshd.kill("SIGTERM");
  });

  const first = (): Cmd[] => [
    {
      name: "hello",
      create: "printf 'hello-%s\\n' $((1+1)); echo to-stderr >&2",
      delete: `echo "hello deleted with [$PULUMI_COMMAND_STDOUT]" >> ${LOG()}`,
    },
    { name: "piped", create: "cat", stdin: "piped in\nsecond line\n" },
    { name: "edited", create: `echo "edited ran v1" >> ${LOG()}; echo v1`, delete: `echo "edited deleted [$PULUMI_COMMAND_STDOUT]" >> ${LOG()}` },
    { name: "triggered", triggers: ["a"], create: "echo made-a", delete: `echo "triggered deleted [$PULUMI_COMMAND_STDOUT]" >> ${LOG()}` },
    { name: "env", environment: { KH_GREETING: "hi there" }, create: 'echo "$KH_GREETING"' },
    { name: "with-update", environment: { KH_ROUND: "1" }, create: "echo one", update: 'echo "round $KH_ROUND after [$PULUMI_COMMAND_STDOUT]"' },
    { name: "proxied", proxy: true, create: "echo via-proxy" },
    { name: "pinned", hostKey: hostPub, create: "echo pinned" },
    { name: "quiet-stdout", logging: "stderr", create: "echo visible-only-in-state; echo err-logged >&2" },
    // The program's way for secret files: a secret stdin, stdout kept out of logs and secret.
    { name: "secret-echo", stdin: SECRET, secretStdin: true, create: "cat", logging: "stderr", secretStdout: true },
    { name: "secret-quiet", stdin: SECRET, secretStdin: true, create: "cat > /dev/null; echo consumed" },
  ];

  /** The first program with edited's create and triggered's trigger changed. */
  const second = (): Cmd[] =>
    first().map((c): Cmd =>
      c.name === "edited"
        ? { ...c, create: `echo "edited ran v2" >> ${LOG()}; echo v2` }
        : c.name === "triggered"
          ? { ...c, triggers: ["b"], create: "echo made-b" }
          : c.name === "with-update"
            ? { ...c, environment: { KH_ROUND: "2" } }
            : c,
    );

  let created: Map<string, StateResource>;

  test("preview runs nothing and leaves stdout unknown", async () => {
    write(first());
    const r = await pulumi(["preview", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const steps = (JSON.parse(r.stdout).steps ?? []) as Array<{ op: string; urn: string; newState?: { outputs?: Record<string, unknown> } }>;
    const hello = steps.find((s) => s.urn.endsWith("::hello"));
    assert.equal(hello?.op, "create");
    assert.equal(remoteLog(), "", "no command ran in the preview");
    const stdout = hello?.newState?.outputs?.stdout;
    assert.ok(stdout === undefined || stdout === "04da6b54-80e4-46f7-96ec-b56ff0331ba9", `stdout is not known in a preview: ${JSON.stringify(stdout)}`);
  });

  test("up creates every command: stdout and stderr are outputs, stdin and environment arrive, the proxy and a pinned host key work", async () => {
    const r = await mustUp();
    created = await state();
    const out = (n: string) => created.get(n)?.outputs ?? {};
    assert.equal(out("hello").stdout, "hello-2", "one trailing newline trimmed");
    assert.equal(out("hello").stderr, "to-stderr");
    assert.equal(out("piped").stdout, "piped in\nsecond line");
    assert.equal(out("env").stdout, "hi there");
    assert.equal(out("proxied").stdout, "via-proxy");
    assert.equal(out("pinned").stdout, "pinned");
    assert.equal(out("secret-quiet").stdout, "consumed");
    assert.equal(out("edited").stdout, "v1");
    assert.equal(remoteLog(), "edited ran v1\n");
    // Check's defaults are in the state's inputs and outputs.
    assert.equal(out("hello").addPreviousOutputInEnv, true);
    for (const r of created.values()) assert.match(r.id ?? "", new RegExp(`^${r.urn.split("::").pop()}[0-9a-f]{8}$`), "ids as NewUniqueHex(name, 8)");
    // Streamed output: ephemeral info lines of each resource, as `logging` allows.
    const lines = (n: string) => diagnostics(r.events, n).map((d) => d.message.trim());
    assert.ok(lines("hello").includes("hello-2") && lines("hello").includes("to-stderr"), `hello's output is logged: ${JSON.stringify(lines("hello"))}`);
    assert.ok(lines("quiet-stdout").includes("err-logged"), JSON.stringify(lines("quiet-stdout")));
    assert.ok(!lines("quiet-stdout").some((l) => l.includes("visible-only-in-state")), "logging: stderr keeps stdout out of the logs");
    assert.ok(
      diagnostics(r.events, "hello").every((d) => d.ephemeral),
      "output lines are status (ephemeral) messages",
    );
  });

  test("secrets: a secret stdin stays secret in the state and never reaches the backend or the logs", async () => {
    const plain = await engine.exportStack(STACK);
    const shown = await engine.exportStack(STACK, true);
    const files = engine.backendFiles();
    assert.ok(files.some((f) => f.path.endsWith(`${STACK}.json`)));
    const leaks = secretsLeak([["pulumi stack export", plain.text], ...files.map((f): [string, string] => [`backend ${f.path}`, f.content]), ...seen]);
    assert.deepEqual(leaks, []);
    // The check is live: with --show-secrets the values are there.
    assert.ok(shown.text.includes(SECRET));
    const echo = created.get("secret-echo")!.outputs!;
    assert.ok(typeof echo.stdin === "object" && echo.stdin["4dabf18193072939515e22adb298388d"], "stdin output is secret");
    assert.ok(typeof echo.stdout === "object" && echo.stdout["4dabf18193072939515e22adb298388d"], "stdout made secret by additionalSecretOutputs");
    assert.ok(typeof echo.connection === "object" && echo.connection["4dabf18193072939515e22adb298388d"], "connection is always secret");
  });

  test("a changed create updates in place (create runs again); a changed trigger replaces, running the old delete with its stdout", async () => {
    write(second());
    const p = await pulumi(["preview", "--json"]);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    const ops = changedSteps(JSON.parse(p.stdout));
    assert.ok(ops.includes("update edited") && ops.includes("update with-update"), ops.join(", "));
    assert.ok(
      ops.some((o) => /^(replace|create-replacement) triggered$/.test(o)),
      ops.join(", "),
    );
    assert.ok(!ops.some((o) => !/ (edited|triggered|with-update)$/.test(o)), `nothing else changes: ${ops.join(", ")}`);

    await mustUp();
    const now = await state();
    assert.equal(now.get("edited")!.id, created.get("edited")!.id, "updated in place");
    assert.equal(now.get("edited")!.outputs!.stdout, "v2");
    assert.notEqual(now.get("triggered")!.id, created.get("triggered")!.id, "replaced");
    assert.equal(now.get("triggered")!.outputs!.stdout, "made-b");
    assert.equal(now.get("with-update")!.outputs!.stdout, "round 2 after [one]", "update runs (not create), with the previous stdout");
    assert.equal(remoteLog(), "edited ran v1\nedited ran v2\ntriggered deleted [made-a]\n");
    created = now;
  });

  test("a second up has nothing to do", async () => {
    const before_ = remoteLog();
    const r = await up(["--expect-no-changes"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(remoteLog(), before_, "no command ran");
  });

  test("failures: exit status and output in the error; a wrong host key; dialErrorLimit honoured against a closed port and a server that hangs up", async () => {
    const closed = await freePort();
    // Accepts TCP and hangs up at once: every SSH handshake fails, and the attempts are counted.
    let attempts = 0;
    const hangup: Server = createServer((s) => {
      attempts++;
      s.destroy();
    });
    await new Promise<void>((r) => hangup.listen(0, "127.0.0.1", () => r()));
    const hangupPort = (hangup.address() as { port: number }).port;
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "other")]);
    const otherKey = readFileSync(join(dir, "other.pub"), "utf8");
    try {
      write([
        ...second(),
        { name: "failing", create: "echo out-line; echo err-line >&2; exit 3" },
        { name: "failing-quiet", create: "echo kept-$((40+2)); echo err-only >&2; exit 4", logging: "stderr" },
        { name: "wrong-key", hostKey: otherKey, dialErrorLimit: 0, create: "echo never" },
        { name: "refused-env", environment: { NOT_ACCEPTED: "x" }, create: "echo never" },
        { name: "closed", port: closed, dialErrorLimit: 2, perDialTimeout: 1, create: "echo never" },
        { name: "hangup", port: hangupPort, dialErrorLimit: 1, create: "echo never" },
      ]);
      const r = await up(["--continue-on-error"]);
      assert.notEqual(r.code, 0, "pulumi up fails");
      const errors = (n: string) =>
        diagnostics(r.events, n)
          .filter((d) => d.severity === "error")
          .map((d) => d.message)
          .join("\n");
      assert.match(errors("failing"), /Process exited with status 3: running "echo out-line; echo err-line >&2; exit 3":\n/);
      assert.match(errors("failing"), /out-line/);
      assert.match(errors("failing"), /err-line/);
      assert.match(errors("failing-quiet"), /status 4/);
      assert.match(errors("failing-quiet"), /err-only/);
      assert.doesNotMatch(errors("failing-quiet"), /kept-42/, "logging: stderr keeps stdout out of the error too");
      assert.match(errors("wrong-key"), /host key mismatch/);
      // sshd refuses a variable its AcceptEnv does not name: the command does not run.
      assert.match(errors("refused-env"), /Unable to set 'NOT_ACCEPTED'/);
      assert.match(errors("refused-env"), /could not set environment variable "NOT_ACCEPTED"/);
      assert.match(errors("closed"), /after 2 failed attempts: .*connection refused/);
      const retries = diagnostics(r.events, "closed").map((d) => d.message.trim());
      assert.ok(retries.includes("Dial 1/2 failed: retrying") && retries.includes("Dial 2/2 failed: retrying"), JSON.stringify(retries));
      assert.match(errors("hangup"), /after 1 failed attempts/);
      assert.equal(attempts, 2, "dialErrorLimit 1: the first dial and one retry");
      // The output the user reads carries the same.
      assert.match(r.stdout + r.stderr, /Process exited with status 3/);
      const now = await state();
      for (const n of ["failing", "failing-quiet", "wrong-key", "refused-env", "closed", "hangup"]) assert.ok(!now.has(n), `${n} is not in the state`);
      assert.equal(now.size, second().length, "the other commands are untouched");
      for (const [n, res] of now) assert.equal(res.id, created.get(n)?.id, `${n} is untouched`);
    } finally {
      hangup.close();
    }
  });

  // ---------------------------------------------------------------------------------
  // remote.CopyToRemote

  const payload = () => join(dir, "payload");
  const bundleSrc = () => join(payload(), "bundle");
  /** The "remote" host's folder: missing until the first copy, which creates remotePath's parents. */
  const remote = () => join(dir, "remote");
  const dest = () => join(remote(), "opt", "kubeadm-ha");
  /** Where a folder FileArchive lands: remotePath/<the folder's basename>, as upstream puts it. */
  const landed = () => join(dest(), "bundle");
  const singleDest = () => join(remote(), "etc", "one", "single.conf");
  const textDest = () => join(remote(), "etc", "text", "hello.txt");
  const SMALL_FILES = 300;
  const BUNDLE_FILES = SMALL_FILES + 6;
  const COPY_TYPE = "command:remote:CopyToRemote";

  function makePayload() {
    const put = (rel: string, content: string | Buffer, mode: number) => {
      const p = join(bundleSrc(), rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
      chmodSync(p, mode);
    };
    put("bin/kh-tool", "#!/bin/sh\necho kh-tool\n", 0o755);
    put("images/big.tar", randomBytes(50 << 20), 0o644);
    put("etc/secret.key", "private\n", 0o600);
    put("etc/group.conf", "group\n", 0o640);
    put("a/b/c/deep.txt", "deep v1\n", 0o644);
    for (let i = 0; i < SMALL_FILES; i++) put(`many/${String(i).padStart(3, "0")}.txt`, `small ${i}\n`, 0o644);
    put("private/inside.txt", "inside\n", 0o644);
    chmodSync(join(bundleSrc(), "private"), 0o750);
    writeFileSync(join(payload(), "single.conf"), "single v1\n");
  }

  const modeOf = (p: string) => (lstatSync(p).mode & 0o7777).toString(8).padStart(4, "0");
  /** Every entry under root: "d <mode>" or "f <mode> <sha256>", by relative path. */
  function tree(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
      for (const name of readdirSync(join(root, rel)).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const p = join(root, r);
        if (lstatSync(p).isDirectory()) {
          out[r] = `d ${modeOf(p)}`;
          walk(r);
        } else out[r] = `f ${modeOf(p)} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`;
      }
    };
    walk("");
    return out;
  }

  const copies = (over: Record<string, Partial<Copy>> = {}): Copy[] =>
    (
      [
        { name: "bundle", kind: "dir", path: bundleSrc(), remotePath: dest() },
        { name: "single", kind: "file", path: join(payload(), "single.conf"), remotePath: singleDest(), triggers: ["a"] },
        { name: "text", kind: "text", text: "hello from a StringAsset\n", remotePath: textDest() },
      ] as Copy[]
    ).map((c) => ({ ...c, ...over[c.name] }));
  /** The copies after the change test: single's trigger and text's connection changed. */
  const changedCopies = () => copies({ single: { triggers: ["b"] }, text: { perDialTimeout: 16 } });
  const changedOps = (stdout: string) => changedSteps(JSON.parse(stdout)).sort();
  let copied: Map<string, StateResource>;

  test("CopyToRemote: a preview copies nothing; up copies a folder FileArchive into remotePath/<folder> with its contents and modes, a FileAsset and a StringAsset to their paths", async () => {
    makePayload();
    write(second(), copies());
    const p = await pulumi(["preview", "--json"]);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.deepEqual(changedOps(p.stdout), ["create bundle", "create single", "create text"]);
    assert.ok(!existsSync(remote()), "a preview copies nothing");

    const t0 = Date.now();
    const r = await mustUp();
    log(`CopyToRemote: ${BUNDLE_FILES} files (50 MiB) copied by pulumi up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    assert.deepEqual(readdirSync(dest()), ["bundle"], "the folder lands under its own name, and nothing else does");
    assert.deepEqual(tree(landed()), tree(bundleSrc()), "the same files, contents and modes");
    assert.equal(modeOf(landed()), modeOf(bundleSrc()));
    assert.equal(tree(landed())["bin/kh-tool"].slice(0, 6), "f 0755", "the executable stays executable");
    assert.equal(execFileSync(join(landed(), "bin", "kh-tool"), { encoding: "utf8" }), "kh-tool\n");
    assert.equal(readFileSync(singleDest(), "utf8"), "single v1\n", "a FileAsset to a new path, parents created");
    assert.equal(readFileSync(textDest(), "utf8"), "hello from a StringAsset\n");

    copied = await state(COPY_TYPE);
    const bundle = copied.get("bundle")!;
    assert.match(bundle.id ?? "", /^[0-9a-f]{8}$/, 'ids as NewUniqueHex("", 8)');
    assert.deepEqual(Object.keys(bundle.outputs!).sort(), ["connection", "remotePath", "source"], "the outputs are the inputs");
    assert.deepEqual(Object.keys(copied.get("single")!.outputs!).sort(), ["connection", "remotePath", "source", "triggers"]);
    assert.ok(bundle.outputs!.connection["4dabf18193072939515e22adb298388d"], "connection is always secret");
    assert.equal(bundle.outputs!.source.path, bundleSrc());
    assert.match(bundle.outputs!.source.hash, /^[0-9a-f]{64}$/);
    assert.equal(bundle.outputs!.remotePath, dest());

    // Progress: a few ephemeral lines for hundreds of files.
    const lines = diagnostics(r.events, "bundle");
    const texts = lines.map((d) => d.message.trim());
    assert.ok(lines.length >= 2 && lines.length <= 20, `a few progress lines, not one per file: ${JSON.stringify(texts)}`);
    assert.ok(
      lines.every((d) => d.ephemeral && d.severity === "info"),
      JSON.stringify(lines),
    );
    log(`CopyToRemote progress lines: ${texts.join(" | ")}`);
    const target = `root@127.0.0.1:${dest()}`;
    assert.ok(texts.includes(`copying ${BUNDLE_FILES} files (50.0 MiB) to ${target}`), JSON.stringify(texts));
    assert.ok(
      texts.some((t) => t.startsWith(`copied ${BUNDLE_FILES} files (50.0 MiB) to ${target} in `)),
      JSON.stringify(texts),
    );
  });

  test("CopyToRemote: a second up copies nothing", async () => {
    const deep = join(landed(), "a", "b", "c", "deep.txt");
    appendFileSync(deep, "changed on the host\n");
    const r = await up(["--expect-no-changes"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(deep, "utf8"), "deep v1\nchanged on the host\n", "nothing was copied");
    assert.deepEqual(diagnostics(r.events, "bundle"), []);
  });

  test("CopyToRemote: a changed file updates in place and is copied over; a changed trigger replaces and copies; a changed connection alone updates and copies nothing", async () => {
    const deep = join(landed(), "a", "b", "c", "deep.txt");
    writeFileSync(join(bundleSrc(), "a", "b", "c", "deep.txt"), "deep v2\n");
    rmSync(singleDest());
    rmSync(textDest());
    write(second(), changedCopies());
    const p = await pulumi(["preview", "--json"]);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    const ops = changedOps(p.stdout);
    assert.deepEqual(
      ops.filter((o) => !/ single$/.test(o)),
      ["update bundle", "update text"],
      ops.join(", "),
    );
    assert.ok(
      ops.some((o) => /^(replace|create-replacement) single$/.test(o)),
      ops.join(", "),
    );
    assert.equal(readFileSync(deep, "utf8"), "deep v1\nchanged on the host\n", "a preview copies nothing");

    await mustUp();
    const now = await state(COPY_TYPE);
    assert.equal(now.get("bundle")!.id, copied.get("bundle")!.id, "updated in place");
    assert.equal(readFileSync(deep, "utf8"), "deep v2\n", "the new content, over the old file");
    assert.deepEqual(tree(landed()), tree(bundleSrc()), "the whole folder copied again");
    assert.notEqual(now.get("single")!.id, copied.get("single")!.id, "replaced");
    assert.equal(readFileSync(singleDest(), "utf8"), "single v1\n", "the replacement copied");
    assert.equal(now.get("text")!.id, copied.get("text")!.id, "updated in place");
    assert.ok(!existsSync(textDest()), "a changed connection alone copies nothing (upstream copies on a new source hash or remotePath only)");
    copied = now;
  });

  test("CopyToRemote: a remotePath whose parent the login cannot write fails pulumi up, naming the path", async () => {
    const locked = join(dir, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o755); // root's: `nobody` may look, not write
    const target = join(locked, "sub");
    const src = join(bundleSrc(), "etc");
    write(second(), [...changedCopies(), { name: "denied", kind: "dir", path: src, remotePath: target, user: "nobody" }]);
    const r = await up();
    assert.notEqual(r.code, 0, "pulumi up fails");
    const errors = diagnostics(r.events, "denied")
      .filter((d) => d.severity === "error")
      .map((d) => d.message)
      .join("\n");
    log(`CopyToRemote error: ${errors}`);
    assert.ok(errors.includes(`copying ${src} to nobody@127.0.0.1:${target}: failed to create remote directory ${target}: permission denied`), `${errors}\n${r.stdout}${r.stderr}`);
    assert.ok((r.stdout + r.stderr).includes(`failed to create remote directory ${target}: permission denied`), "the CLI's output says it too");
    assert.ok(!existsSync(target));
    const now = await state(COPY_TYPE);
    assert.ok(!now.has("denied"), "not in the state");
    for (const [n, res] of now) assert.equal(res.id, copied.get(n)?.id, `${n} is untouched`);
  });

  test("destroy runs each delete with the stdout of its last run", async () => {
    write(second());
    const before_ = remoteLog();
    const r = await pulumi(["destroy", "--yes"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const added = remoteLog().slice(before_.length).split("\n").filter(Boolean).sort();
    assert.deepEqual(added, ["edited deleted [v2]", "hello deleted with [hello-2]", "triggered deleted [made-b]"]);
    assert.equal((await state()).size, 0);
    assert.equal((await state(COPY_TYPE)).size, 0);
    // CopyToRemote has no Delete: the copied files stay.
    assert.deepEqual(tree(landed()), tree(bundleSrc()), "destroy leaves the copied files");
    assert.equal(readFileSync(singleDest(), "utf8"), "single v1\n");
    assert.deepEqual(secretsLeak([...engine.backendFiles().map((f): [string, string] => [f.path, f.content]), ...seen]), []);
  });
});
