// The pull-request workflows: a credentialed `pulumi preview` per shipped stack, and
// a credential-free render diff that forks can use. GitHub cannot run here, so these
// pin what the files say, and yamllint (Debian) checks they are well-formed YAML.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "child_process";
import { readFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";
import { ROOT, SHIPPED_STACKS } from "./helpers";

const workflow = (name: string) => {
  const text = readFileSync(join(ROOT, ".github/workflows", name), "utf8");
  return { text, doc: parse(text) as Record<string, any> };
};
const steps = (doc: Record<string, any>, job: string) => doc.jobs[job].steps as Array<Record<string, any>>;

test("the workflows are well-formed YAML (yamllint)", () => {
  execFileSync("yamllint", ["-d", "{extends: relaxed, rules: {line-length: {max: 240}}}", join(ROOT, ".github/workflows")], { stdio: "pipe" });
});

test("the preview job runs pulumi/actions preview with the policy pack on every shipped stack and comments on the PR", () => {
  const { doc } = workflow("preview.yml");
  assert.deepEqual([...doc.jobs.preview.strategy.matrix.stack].sort(), SHIPPED_STACKS);
  const pulumi = steps(doc, "preview").find((s) => String(s.uses).startsWith("pulumi/actions@"));
  assert.ok(pulumi, "a pulumi/actions step");
  assert.match(pulumi.uses, /^pulumi\/actions@v[67]$/);
  assert.equal(pulumi.with.command, "preview");
  assert.equal(pulumi.with["comment-on-pr"], true);
  assert.equal(pulumi.with.diff, true);
  assert.equal(pulumi.with.policyPacks, "policy");
  assert.match(pulumi.with["stack-name"], /\$\{\{ matrix\.stack \}\}$/);
  // Credentials only where they exist: never for a fork's code.
  assert.match(doc.jobs.preview.if, /head\.repo\.full_name == github\.repository/);
});

test("the render-diff job needs no credentials and runs the same command a developer runs", () => {
  const { text, doc } = workflow("render-diff.yml");
  assert.doesNotMatch(text, /secrets\./, "no secrets in the fork-facing job");
  assert.deepEqual(doc.permissions, { contents: "read" });
  const run = steps(doc, "render-diff")
    .map((s) => s.run ?? "")
    .join("\n");
  assert.match(run, /npm run --silent render:diff -- --base "\$\{\{ github\.event\.pull_request\.base\.sha \}\}" --format markdown --out render-diff\.md/);
  assert.match(run, /setup\.sh/);
  assert.equal(steps(doc, "render-diff")[0].with["fetch-depth"], 0, "the base commit must be fetched");
});

test("the comment workflow posts one comment per PR and never runs the PR's code", () => {
  const { text, doc } = workflow("render-diff-comment.yml");
  assert.deepEqual(doc.on.workflow_run.workflows, [workflow("render-diff.yml").doc.name]);
  assert.doesNotMatch(text, /actions\/checkout/);
  assert.match(text, /updateComment/);
  assert.match(text, /createComment/);
});

test("the comment workflow only comments on the pull request whose run made the artifact", () => {
  const { text } = workflow("render-diff-comment.yml");
  assert.match(text, /pull\.head\.sha !== context\.payload\.workflow_run\.head_sha/);
});
