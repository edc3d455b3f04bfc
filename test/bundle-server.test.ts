// The lab's bundle server (what `kubernetes.packages.url` points the lab hosts at):
// files under its folder only, and a bad request is an HTTP error, never a crash.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { serveBundle } from "../lab/bundle-server";
import { freePort, tempDir } from "./helpers";
import { createServer } from "net";

test("the bundle server serves files under its folder and answers anything else, a malformed %-escape too, with 404", async () => {
  const dir = tempDir("bundle-server-");
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "kubeadm"), "binary");
  const server = await serveBundle(dir, "127.0.0.1", await freePort());
  try {
    const get = (path: string) => fetch(`${server.url}${path}`).then(async (r) => [r.status, r.status === 200 ? await r.text() : ""] as const);
    assert.deepEqual(await get("/bin/kubeadm"), [200, "binary"]);
    for (const path of ["/%", "/bin/%zz", "/bin", "/missing", "/..%2f..%2fetc%2fpasswd"]) assert.equal((await get(path))[0], 404, path);
    assert.equal((await fetch(`${server.url}/bin/kubeadm`, { method: "POST" })).status, 405);
  } finally {
    await server.close();
  }
});

test("a port another process holds is refused, saying what to stop", async () => {
  const port = await freePort();
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(port, "127.0.0.1", r));
  try {
    await assert.rejects(
      serveBundle(tempDir("bundle-server-"), "127.0.0.1", port),
      new RegExp(`^Error: 127\\.0\\.0\\.1:${port} is in use: another lab still serves its bundle there .*ss -ltnp 'sport = :${port}'`),
    );
  } finally {
    holder.close();
  }
});
