// The layering is a check, not a comment (eslint.config.mjs): the validated config and the
// pure plan import no Pulumi package, config does not import plan, plan imports no
// component. ESLint lints code as if it were a file at each place in the tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { ESLint } from "eslint";
import { ROOT } from "./helpers";

const eslint = new ESLint({ cwd: ROOT });

/** The rules `code` breaks as the file at `path`, with their messages. */
async function broken(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test("config/ and plan/ import no Pulumi package; the components do", async () => {
  for (const path of ["components/config/example.ts", "components/plan/example.ts"]) {
    const [problem, ...more] = await broken(path, 'import * as pulumi from "@pulumi/pulumi";\nexport const stack = pulumi.getStack();\n');
    assert.match(problem, /^no-restricted-imports: .*'@pulumi\/pulumi'.*pure: no Pulumi package/, path);
    assert.deepEqual(more, []);
  }
  assert.deepEqual(await broken("components/example.ts", 'import * as pulumi from "@pulumi/pulumi";\nexport const stack = pulumi.getStack();\n'), []);
});

test("config/ does not import plan/; plan/ imports config/ and itself, never a component", async () => {
  assert.match(
    (await broken("components/config/example.ts", 'import { planCluster } from "../plan/cluster-plan";\nexport const p = planCluster;\n'))[0],
    /config\/ comes before plan\//,
  );
  assert.deepEqual(
    await broken(
      "components/plan/example.ts",
      'import { ClusterConfig } from "../config/validate";\nimport { KUBEADM_API } from "./kubeadm";\nexport type C = ClusterConfig;\nexport const a = KUBEADM_API;\n',
    ),
    [],
  );
  for (const component of ["../cluster", "../gcp/node-pool", "../aws/infrastructure", "../bootstrap"]) {
    assert.match((await broken("components/plan/example.ts", `import * as c from "${component}";\nexport const x = c;\n`))[0] ?? "", /plan\/ sits below the components/, component);
  }
});

test("the layering holds in the platforms' sub-folders of config/ and plan/ too", async () => {
  assert.match(
    (await broken("components/config/platforms/example.ts", 'import { planCluster } from "../../plan/cluster-plan";\nexport const p = planCluster;\n'))[0] ?? "",
    /config\/ comes before plan\//,
  );
  assert.match(
    (await broken("components/plan/platforms/example.ts", 'import * as pulumi from "@pulumi/pulumi";\nexport const s = pulumi.getStack();\n'))[0] ?? "",
    /pure: no Pulumi package/,
  );
  assert.deepEqual(
    await broken(
      "components/plan/platforms/example.ts",
      'import { hostAt } from "../../config/cidr";\nimport { APISERVER_PORT } from "../cluster-plan";\nimport { LB_HOST_NUMBER } from "./layout";\nexport const a = [hostAt, APISERVER_PORT, LB_HOST_NUMBER];\n',
    ),
    [],
  );
  for (const component of ["../../cluster", "../../gcp/node-pool", "../../aws/infrastructure"]) {
    assert.match(
      (await broken("components/plan/platforms/example.ts", `import * as c from "${component}";\nexport const x = c;\n`))[0] ?? "",
      /plan\/ sits below the components/,
      component,
    );
  }
});

test("platform names are compared only in the platforms' modules and the places docs/adding-a-platform.md lists", () => {
  const guide = readFileSync(join(ROOT, "docs/adding-a-platform.md"), "utf8");
  const comparison = /\b(platform|cloud)\s*[!=]==\s*"|[!=]==\s*"(gcp|aws|static)"|case "(gcp|aws|static)"/;
  const places = ["components", "render", "policy"].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `${dir}/${f}`)
      .filter((f) => !/^components\/(config|plan)\/platforms\//.test(f) && !/^components\/(gcp|aws)\//.test(f))
      .filter((f) =>
        readFileSync(join(ROOT, f), "utf8")
          .split("\n")
          .some((line) => comparison.test(line)),
      ),
  );
  assert.ok(places.length > 0, "the scan finds the dispatch points");
  assert.deepEqual(
    places.filter((f) => !guide.includes(`\`${f}\``)),
    [],
    "compares platform names outside the platforms' modules: ask the platform (PlatformRules, PlatformPlan), or list the file in the guide",
  );
});

test("a cloud's resource types are named only in its own modules: the render and the policy pack ask the cloud's modules", () => {
  const own = /^(components\/(config|plan)\/platforms\/|components\/(gcp|aws)\/|render\/platforms\/|policy\/platforms\/)/;
  const providerType = /["'`](gcp|aws):[A-Za-z0-9]+\/[A-Za-z0-9]+:[A-Za-z]/;
  const files = ["components", "render", "policy"].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `${dir}/${f}`),
  );
  assert.ok(
    files.some((f) => own.test(f) && providerType.test(readFileSync(join(ROOT, f), "utf8"))),
    "the scan finds the types in the platforms' modules",
  );
  assert.deepEqual(
    files.filter((f) => !own.test(f) && providerType.test(readFileSync(join(ROOT, f), "utf8"))),
    [],
    "names a cloud's resource type outside the platforms' modules: use GCP_TYPES / AWS_TYPES (components/plan/platforms/<cloud>-resources.ts) or the cloud's render/ and policy/ platform module",
  );
});
