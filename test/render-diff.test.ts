// `npm run render:diff`: the difference between the render at a git ref and the
// working tree, as a PR comment shows it to reviewers without cloud credentials.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { changedPaths, diffRenders, formatDiffs } from "../render/diff";
import { ROOT } from "./helpers";

describe("the difference of two renders", () => {
  test("changed input paths name the leaves that differ", () => {
    assert.deepEqual(changedPaths({ a: 1, b: { c: [1, 2], d: "x" } }, { a: 1, b: { c: [1, 3], d: "x" }, e: true }), ["b.c[1]", "e"]);
    assert.deepEqual(changedPaths({ a: 1 }, { a: 1 }), []);
  });

  test("resources added, removed and changed, and machine files as unified diffs", () => {
    const dir = mkdtempSync(join(tmpdir(), "diff-unit-"));
    const write = (side: string, resources: unknown[], files: Record<string, string>) => {
      mkdirSync(join(dir, side, "files"), { recursive: true });
      writeFileSync(join(dir, side, "resources.json"), JSON.stringify(resources));
      for (const [p, c] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, side, "files", p)), { recursive: true });
        writeFileSync(join(dir, side, "files", p), c);
      }
    };
    const r = (name: string, inputs: unknown) => ({ urn: `urn:pulumi:s::p::t::${name}`, type: "t", name, parent: null, dependencies: [], inputs, options: {} });
    write("base", [r("kept", { size: 1, key: "[secret]" }), r("gone", {})], { "m0/etc/a.conf": "one\ntwo\n", "m0/old.sh": "x\n", "m0/key.pem": "[secret]" });
    write("head", [r("kept", { size: 2, key: "[secret]" }), r("new", {})], { "m0/etc/a.conf": "one\nthree\n", "m0/new.sh": "y\n", "m0/key.pem": "[secret]" });
    const d = diffRenders("s", join(dir, "base"), join(dir, "head"));
    assert.deepEqual(
      d.added.map((x) => x.name),
      ["new"],
    );
    assert.deepEqual(
      d.removed.map((x) => x.name),
      ["gone"],
    );
    assert.deepEqual(
      d.changed.map((c) => [c.name, c.paths]),
      [["kept", ["size"]]],
    );
    assert.deepEqual(
      d.files.map((f) => [f.path, f.kind]),
      [
        ["m0/etc/a.conf", "changed"],
        ["m0/new.sh", "added"],
        ["m0/old.sh", "removed"],
      ],
    );
    assert.match(d.files[0].diff, /^--- base\/m0\/etc\/a.conf\n\+\+\+ head\/m0\/etc\/a.conf\n@@ .* @@\n one\n-two\n\+three\n$/);
    const md = formatDiffs([d], "markdown");
    assert.match(md, /1 to add, 1 to change, 1 to remove; 3 machine files changed/);
    assert.match(md, /~ `t` \*\*kept\*\*: `size`/);
    rmSync(dir, { recursive: true, force: true });
  });

  test('no difference prints "no changes"', () => {
    assert.match(formatDiffs([{ stack: "a", added: [], removed: [], changed: [], files: [] }], "text"), /^no changes \(1 stack rendered: a\)$/m);
  });
});

describe("npm run render:diff", () => {
  // A throwaway repository holding this working tree as its one commit: base = HEAD,
  // and the test edits the stack files of its working tree as a pull request would.
  let repo: string;
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: repo, stdio: "pipe" });
  const renderDiff = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", join(repo, "render/diff-cli.ts"), "--base", "HEAD", ...args], { cwd: repo, encoding: "utf8" });
  const stackFile = (s: string) => join(repo, "stacks", `Pulumi.${s}.yaml`);

  before(() => {
    repo = mkdtempSync(join(tmpdir(), "render-diff-repo-"));
    const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
      .split("\n")
      .filter((f) => f && !f.startsWith("test/fixtures/invalid-stacks/"));
    for (const f of files) cpSync(join(ROOT, f), join(repo, f), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(repo, "node_modules"), "dir");
    git("init", "-q");
    git("add", "-A");
    git("commit", "-q", "-m", "base");
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  test('an unchanged stack prints "no changes" and exits 0', () => {
    const r = renderDiff("--stack", "onprem-vip");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /no changes \(1 stack rendered: onprem-vip\)/);
  });

  test("a changed stack lists the changed resources with their input paths and the machine files as unified diffs, secrets still [secret]", () => {
    const original = readFileSync(stackFile("gcp-three-zone"), "utf8");
    writeFileSync(stackFile("gcp-three-zone"), original.replace("version: 1.34.2", "version: 1.34.3").replace("nodesPerZone: 3", "nodesPerZone: 4"));
    try {
      const r = renderDiff("--stack", "gcp-three-zone", "--format", "markdown");
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /### gcp-three-zone/);
      // A new release is a new generation of workers: new groups, and the old ones leave with their drain hooks.
      assert.match(r.stdout, /\+ `gcp:compute\/instanceGroupManager:InstanceGroupManager` \*\*prod-general-b-[0-9a-f]{8}\*\*/);
      assert.match(r.stdout, /- `gcp:compute\/instanceGroupManager:InstanceGroupManager` \*\*prod-general-b-[0-9a-f]{8}\*\*/);
      assert.match(r.stdout, /- `command:remote:Command` \*\*prod-control-plane-drain-prod-general-b-[0-9a-f]{8}\*\*/);
      assert.match(r.stdout, /~ `gcp:compute\/instance:Instance` \*\*prod-master-0\*\*: `labels\.kubeadm-ha-kubernetes`, `metadata\.user-data`/);
      // The upgrade, as the steps that will run, in their order: every master, one at a time.
      assert.match(r.stdout, /prod-master-0-upgrade\*\*: `create`[^]*prod-master-1-upgrade\*\*: `create`[^]*prod-master-2-upgrade\*\*: `create`/);
      assert.match(r.stdout, /^-.*1\.34\.2/m);
      assert.match(r.stdout, /^\+.*1\.34\.3/m);
      assert.match(r.stdout, /<summary>changed: <code>prod-master-0\/cloud-init\.yaml<\/code><\/summary>/);
      assert.doesNotMatch(r.stdout, /BEGIN [A-Z ]*PRIVATE KEY-----\n(?!\[secret\])[A-Za-z0-9+/]/, "no private key material in the diff");
    } finally {
      writeFileSync(stackFile("gcp-three-zone"), original);
    }
  });

  test("a stack that does not render makes the command fail with the render's error", () => {
    const original = readFileSync(stackFile("onprem-vip"), "utf8");
    writeFileSync(stackFile("onprem-vip"), original.replace("vip: 10.103.97.2", "vip: 10.103.97.200"));
    try {
      const r = renderDiff("--stack", "onprem-vip");
      assert.equal(r.status, 1);
      assert.match(r.stderr, /working tree: onprem-vip did not render/);
      assert.match(r.stderr, /kubeadm-ha:endpoint\.vip/);
    } finally {
      writeFileSync(stackFile("onprem-vip"), original);
    }
  });

  test("a ref that is not a commit is a usage error", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(repo, "render/diff-cli.ts"), "--base", "no-such-ref"], { cwd: repo, encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not a commit of this repository/);
  });
});
