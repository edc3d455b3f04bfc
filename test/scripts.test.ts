// The rendered machine scripts run for real with bash, coreutils and sed, on files in
// a temporary directory (paths redirected through the scripts' env overrides).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { readFileSync, statSync, writeFileSync } from "fs";
import { join } from "path";
import { parseAllDocuments } from "yaml";
import { file, inputs, named, renderOnce, tempDir } from "./helpers";
import { RenderResult } from "../render/render";
import { decodeBundle, encodeBundle } from "../components/plan/bundle";
import { kubectlRetryFunction } from "../components/plan/scripts";

let r: RenderResult;
let dir: string;
before(async () => {
  r = await renderOnce("gcp-three-zone");
  dir = tempDir("kubeadm-ha-scripts-");
});

function bash(script: string, args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  const path = join(dir, `script-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(path, script);
  return spawnSync("bash", [path, ...args], { encoding: "utf8", input: opts.input, env: { ...process.env, ...opts.env } });
}

test("the files step writes every file of its bundle with its mode", () => {
  const stdin = inputs(named(r, "prod-master-1-files")).stdin as string;
  const root = join(dir, "root");
  const redirected = encodeBundle(decodeBundle(stdin).map((f) => ({ ...f, path: root + f.path })));
  // `sudo` is not needed as root in the test; the rest of the script is as rendered.
  const res = bash(file(r, "prod-master-1/commands/files.sh").replace(/\bsudo /g, ""), [], { input: redirected });
  assert.equal(res.status, 0, res.stderr);
  for (const f of decodeBundle(stdin)) {
    assert.equal(readFileSync(root + f.path, "utf8"), f.content, f.path);
    assert.equal((statSync(root + f.path).mode & 0o777).toString(8).padStart(4, "0"), f.mode, f.path);
  }
  assert.match(res.stdout, new RegExp(`wrote ${decodeBundle(stdin).length} files`));
});

test("set-endpoint pins the endpoint name to one address, keeping every other hosts line", () => {
  const hosts = join(dir, "hosts");
  writeFileSync(hosts, "127.0.0.1 localhost\n10.10.0.10 prod-master-0.c.example.internal\n");
  const script = file(r, "prod-master-1/usr/local/sbin/kubeadm-ha-set-endpoint");
  for (const ip of ["10.10.0.10", "10.10.0.11"]) assert.equal(bash(script, [ip], { env: { KUBEADM_HA_HOSTS_FILE: hosts } }).status, 0);
  const text = readFileSync(hosts, "utf8");
  assert.equal(text, "127.0.0.1 localhost\n10.10.0.10 prod-master-0.c.example.internal\n10.10.0.11 api.prod.internal # kubeadm-ha endpoint\n");
  assert.equal(bash(script, [], { env: { KUBEADM_HA_HOSTS_FILE: hosts } }).status, 1, "an address is required");
});

test("render-config fills in the token, readable by root only, and leaves the template untouched", () => {
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, "abcdef.0123456789abcdef\n");
  const src = join(dir, "kubeadm-join.yaml");
  const template = file(r, "prod-master-1/etc/kubeadm-ha/kubeadm-join.yaml");
  writeFileSync(src, template);
  const dst = join(dir, "run", "kubeadm.yaml");
  const res = bash(file(r, "prod-master-1/usr/local/sbin/kubeadm-ha-render-config"), [src, dst], { env: { KUBEADM_HA_TOKEN_FILE: tokenFile } });
  assert.equal(res.status, 0, res.stderr);
  const [join0] = parseAllDocuments(readFileSync(dst, "utf8")).map((d) => d.toJS());
  assert.equal(join0.discovery.bootstrapToken.token, "abcdef.0123456789abcdef");
  assert.equal(statSync(dst).mode & 0o777, 0o600);
  assert.equal(readFileSync(src, "utf8"), template);
});

test("a kubectl call the apiserver does not answer is retried until it answers, and given up on after its time", () => {
  // A kubectl that fails its first two calls (the apiserver out of reach), then answers.
  const bin = tempDir("kubectl-flaky-");
  const count = join(bin, "calls");
  writeFileSync(
    join(bin, "kubectl"),
    `#!/usr/bin/env bash\nn=$(( $(cat ${count} 2>/dev/null || echo 0) + 1 ))\necho $n > ${count}\nif [ $n -le 2 ]; then echo "connection refused" >&2; exit 1; fi\necho "answer to $*"\n`,
    { mode: 0o755 },
  );
  const script = `set -euo pipefail\n${kubectlRetryFunction()}\nkubectl_retry get node x\n`;
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const ok = bash(script, [], { env });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, "answer to get node x\n");
  assert.equal(readFileSync(count, "utf8").trim(), "3");
  // Never answering: it gives up after its time, failing with the call it gave up on.
  writeFileSync(count, "-1000");
  const gaveUp = bash(script, [], { env: { ...env, KUBEADM_HA_API_RETRY_S: "3" } });
  assert.equal(gaveUp.status, 1);
  assert.match(gaveUp.stderr, /kubeadm-ha: kubectl get node x kept failing for 3s/);
});
