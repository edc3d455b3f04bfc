// GCP and AWS worker groups roll blue-green per generation, each old node drained before
// its group goes (plan/worker-roll.ts). These tests read the render: the generation in the
// groups' names and the nodes' labels, what changes it and what does not, and the hooks
// that drain an old generation before Pulumi deletes its groups.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { parse, stringify } from "yaml";
import { renderInChild, ROOT, tempDir } from "./helpers";
import { GENERATION_LABEL } from "../components/plan/worker-roll";

type R = Awaited<ReturnType<typeof renderInChild>>;
const GROUP = /(instanceGroupManager:InstanceGroupManager|autoscaling\/group:Group)$/;

/** The stack with `edit` applied to its config, rendered. */
async function renderEdited(stack: string, edit: (config: Record<string, any>) => void): Promise<R> {
  const dir = tempDir(`worker-roll-${stack}-`);
  const doc = parse(readFileSync(join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8"));
  edit(doc.config);
  writeFileSync(join(dir, `Pulumi.${stack}.yaml`), stringify(doc));
  return renderInChild(stack, dir);
}

const groups = (r: R) => r.resources.filter((x) => GROUP.test(x.type)).map((x) => ({ name: x.name, physical: String((x.inputs as { name: string }).name) }));
const generationOf = (physical: string) => physical.split("-").pop()!;

for (const stack of ["gcp-three-zone", "aws-three-az"]) {
  test(`${stack}: every zone's group is named after its pool's generation, and its nodes carry it as a label`, async () => {
    const r = await renderInChild(stack);
    const gs = groups(r);
    assert.ok(gs.length >= 3);
    const gen = generationOf(gs[0].physical);
    assert.match(gen, /^[0-9a-f]{8}$/);
    for (const g of gs) assert.equal(g.physical, g.name, "a new generation is a group of a new name, not a replacement of the old one");
    assert.ok(
      gs.every((g) => generationOf(g.physical) === gen),
      "every zone's group of a pool is of one generation",
    );
    const join = r.resources.find((x) => /(instanceTemplate:InstanceTemplate|launchTemplate:LaunchTemplate)$/.test(x.type))!;
    const userData = JSON.stringify(join.inputs);
    const text = userData.includes("#cloud-config") ? userData : Buffer.from(String((join.inputs as { userData: string }).userData), "base64").toString("utf8");
    assert.ok(text.includes(`${GENERATION_LABEL}=${gen}`), "the join config does not label the nodes with their generation");
  });

  test(`${stack}: a new machine type is a new generation; a change that does not touch the workers is not`, async () => {
    const first = await renderInChild(stack);
    const old = groups(first);
    const before = generationOf(old[0].physical);
    const bigger = await renderEdited(stack, (c) => (c["kubeadm-ha:nodePools"][0].machineType = stack.startsWith("gcp") ? "e2-standard-8" : "m6i.2xlarge"));
    assert.notEqual(generationOf(groups(bigger)[0].physical), before);
    const drains = (r: R) => r.resources.filter((x) => /-control-plane-drain-/.test(x.name)).map((x) => x.name);
    assert.ok(
      groups(bigger).every((g) => !old.some((o) => o.name === g.name)),
      "the new generation's groups have new names: the old ones leave the program after the up",
    );
    assert.ok(
      drains(bigger).every((d) => !drains(first).includes(d)),
      "and so do their hooks, whose deletes drain the old generation",
    );
    const admins = await renderEdited(stack, (c) => (c["kubeadm-ha:adminCidrs"] = ["203.0.113.0/24"]));
    assert.equal(generationOf(groups(admins)[0].physical), before);
  });

  test(`${stack}: before an old group goes, its hook drains that generation's nodes, after the new generation is Ready`, async () => {
    const r = await renderInChild(stack);
    for (const g of groups(r)) {
      const hook = r.resources.find((x) => x.name.endsWith(`-control-plane-drain-${g.name}`))!;
      // Named after its group: when the group leaves the program, so does its hook.
      assert.ok(hook, `no drain hook for ${g.name}`);
      const inputs = hook.inputs as { create?: string; delete: string; triggers: string[] };
      assert.equal(inputs.create, undefined, "the hook does nothing until it is deleted");
      assert.match(inputs.delete, new RegExp(`kubeadm-ha/generation=${generationOf(g.physical)}'`));
      assert.match(inputs.delete, /kubectl drain "\$n" --ignore-daemonsets --delete-emptydir-data --timeout=600s/);
      assert.deepEqual(inputs.triggers, [generationOf(g.physical)], "nothing but its generation (its name) could replace it and drain a running generation");
      // Depending on its group, it is deleted before the group.
      assert.ok(hook.dependencies.some((u) => u.endsWith(`::${g.name}`)));
      assert.ok(hook.dependencies.some((u) => /-control-plane-ready-/.test(u)));
    }
  });
}
