// What the blue-green roll of GCP and AWS worker groups (plan/worker-roll.ts) needs of the
// Pulumi engine, checked on the real engine, offline: a model of a pool (a template, a
// zone's group, the ready step, the group's drain hook, each a local command that writes
// what it does to a file), its generation changed as a new release changes it.
//
// The engine must: create the new generation first; delete the old generation's hook, then
// its group, then its template, in that order, only after everything else went through;
// and after a failed up (the new generation never Ready) delete nothing of the old one, so
// that the next up, once the new generation is Ready, drains and deletes it then.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "fs";
import { join } from "path";
import { ENGINE_TOOLS, PulumiEngine } from "../engine/pulumi";
import { toolchainVersions } from "../toolchain/recipes";
import { ROOT, tempDir, toolchainSkip } from "./helpers";
import { generationGroupName } from "../components/plan/worker-roll";

const missing = toolchainSkip([...ENGINE_TOOLS]) || undefined;
if (missing) console.log(`# engine roll tests skipped: ${missing}`);

// Named as the components name them: the group and its template after the generation, the
// hook after its group; the ready step replaced with each generation. Each is a resource of
// a dynamic provider (the SDK's own, run by the engine as a plugin) that records its create
// and delete; a changed input replaces it, as a trigger of the command provider does.
const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const recorder = {
  async create(inputs) {
    if (inputs.fail) throw new Error(inputs.fail);
    if (inputs.create) require("fs").appendFileSync(inputs.log, inputs.create + "\\n");
    return { id: inputs.create || inputs.delete, outs: inputs };
  },
  async diff(id, olds, news) {
    const changed = JSON.stringify(olds) !== JSON.stringify(news);
    return { changes: changed, replaces: changed ? ["triggers"] : [], deleteBeforeReplace: false };
  },
  async delete(id, props) {
    if (props.delete) require("fs").appendFileSync(props.log, props.delete + "\\n");
  },
};
class Step extends pulumi.dynamic.Resource {
  constructor(name, args, opts) { super(recorder, name, { create: "", delete: "", fail: "", ...args, log }, opts); }
}
const config = new pulumi.Config();
const gen = config.require("generation");
const readyFails = config.getBoolean("readyFails") || false;
const log = config.require("log");
const group = config.require("groupName");
const template = new Step(config.require("templateName"), { create: "create template " + gen, delete: "delete template " + gen });
const g = new Step(group, { create: "create group " + gen, delete: "delete group " + gen }, { dependsOn: [template] });
const ready = new Step("ready-general", readyFails ? { fail: "generation " + gen + " not Ready" } : { create: "ready " + gen }, { dependsOn: [g] });
new Step("drain-" + group, { delete: "drain " + gen, triggers: gen }, { dependsOn: [g, ready] });
`;

describe("the real Pulumi engine rolls a worker generation as the drain hooks need", { skip: missing, timeout: 10 * 60_000 }, () => {
  let engine: PulumiEngine;
  let project: string;
  let log: string;
  const stack = "roll";

  before(async () => {
    project = tempDir("kubeadm-ha-roll-");
    log = join(project, "did.log");
    mkdirSync(join(project, "stacks"));
    writeFileSync(join(project, "Pulumi.yaml"), "name: roll\nruntime: nodejs\nstackConfigDir: stacks\n");
    writeFileSync(join(project, "stacks", `Pulumi.${stack}.yaml`), "config: {}\n");
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "roll", main: "index.js" }));
    writeFileSync(join(project, "index.js"), PROGRAM);
    symlinkSync(join(ROOT, "node_modules"), join(project, "node_modules"), "dir");
    // The engine runs a dynamic provider as the plugin pulumi-resource-pulumi-nodejs, which the
    // Pulumi distribution ships as a launcher of the SDK's dynamic-provider program.
    mkdirSync(join(project, "bin"));
    writeFileSync(
      join(project, "bin", "pulumi-resource-pulumi-nodejs"),
      `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, "node_modules/@pulumi/pulumi/cmd/dynamic-provider")}" "$@"\n`,
      { mode: 0o755 },
    );
    engine = await PulumiEngine.start({ root: project, versions: toolchainVersions(ROOT) });
    await engine.initStack(stack);
    await engine.must(["config", "set", "log", log, ...engine.stackArgs(stack)]);
  });
  after(() => engine?.dispose());

  /** `pulumi up` with generation `gen`; what the commands did in it, in order. */
  async function up(gen: string, readyFails = false): Promise<{ ok: boolean; did: string[]; output: string }> {
    const set = async (k: string, v: string) => engine.must(["config", "set", k, v, ...engine.stackArgs(stack)]);
    await set("generation", gen);
    await set("readyFails", String(readyFails));
    await set("groupName", generationGroupName("prod-general-b", gen));
    await set("templateName", `${generationGroupName("prod-general", gen)}-template`);
    writeFileSync(log, "");
    const r = await engine.run(["up", "--yes", "--skip-preview", ...engine.stackArgs(stack)], { cwd: project, env: { PATH: `${join(project, "bin")}:${engine.env.PATH}` } });
    return { ok: r.code === 0, did: readFileSync(log, "utf8").split("\n").filter(Boolean), output: r.stdout + r.stderr };
  }

  test("a new generation is created and Ready before the old one is drained, and the old group goes after its drain, its template last", async () => {
    const first = await up("aaaaaaaa");
    assert.ok(first.ok, first.output);
    assert.deepEqual(first.did, ["create template aaaaaaaa", "create group aaaaaaaa", "ready aaaaaaaa"]);
    const next = await up("bbbbbbbb");
    assert.ok(next.ok, next.output);
    assert.deepEqual(next.did, ["create template bbbbbbbb", "create group bbbbbbbb", "ready bbbbbbbb", "drain aaaaaaaa", "delete group aaaaaaaa", "delete template aaaaaaaa"]);
  });

  test("an up whose new generation is never Ready fails and drains nothing; the next up, Ready, drains and deletes the old generation then", async () => {
    const failed = await up("cccccccc", true);
    assert.ok(!failed.ok, "the up whose ready step failed passed");
    assert.match(failed.output, /generation cccccccc not Ready/);
    assert.deepEqual(failed.did, ["create template cccccccc", "create group cccccccc"], "the old generation was touched by a failed up");
    const again = await up("cccccccc");
    assert.ok(again.ok, again.output);
    assert.deepEqual(again.did, ["ready cccccccc", "drain bbbbbbbb", "delete group bbbbbbbb", "delete template bbbbbbbb"]);
  });

  test("an up with nothing new drains nothing", async () => {
    const same = await up("cccccccc");
    assert.ok(same.ok, same.output);
    assert.deepEqual(same.did, []);
  });
});
