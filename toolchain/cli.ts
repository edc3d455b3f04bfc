// npm run toolchain [-- --only kubernetes,etcd,...] [--list]
// Builds, from the Go module proxy, the real programs the checks run on what this program
// writes: Kubernetes at the default kubernetes.version, etcd/CoreDNS/pause at the versions
// its kubeadm pins, and the Pulumi CLI, its Node.js language host and the resource plugins
// at the versions package-lock.json asks for. Cache: $KUBEADM_HA_TOOLCHAIN_DIR, else
// ~/.cache/kubeadm-ha/toolchain (Go's module and build caches live there too).
import { parseArgs } from "util";
import { join } from "path";
import { toolchainDir } from "./cache";
import { Toolchain, ToolchainError } from "./build";
import { allRecipes, toolchainVersions } from "./recipes";

function usage(msg: string): never {
  console.error(`toolchain: ${msg}\nusage: npm run toolchain -- [--only NAME[,NAME...]] [--list]`);
  process.exit(2);
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({ options: { only: { type: "string" }, list: { type: "boolean" } }, strict: true }));
  } catch (e) {
    usage((e as Error).message);
  }
  const root = join(__dirname, "..");
  const versions = toolchainVersions(root);
  const recipes = allRecipes(versions);
  if (values.list) {
    for (const r of recipes) console.log(r.name);
    return;
  }
  const only = values.only?.split(",").filter(Boolean);
  const unknown = only?.filter((n) => !recipes.some((r) => r.name === n)) ?? [];
  if (unknown.length) usage(`unknown ${unknown.join(", ")}; choose from ${recipes.map((r) => r.name).join(", ")}`);
  const chosen = only ? recipes.filter((r) => only.includes(r.name)) : recipes;

  const dir = toolchainDir();
  const t0 = Date.now();
  const log = (l: string) => console.error(`[toolchain ${String(Math.round((Date.now() - t0) / 1000)).padStart(4)}s] ${l}`);
  log(`cache ${dir}; building ${chosen.map((r) => r.name).join(", ")}`);
  const manifest = await new Toolchain(dir, log).buildAll(chosen, versions);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  for (const [name, t] of Object.entries(manifest.tools).sort()) console.log(`${name.padEnd(28)} ${t.path}`);
  console.log(`toolchain ready in ${secs}s (${dir})`);
}

main().catch((e) => {
  console.error(e instanceof ToolchainError ? `toolchain: ${e.message}` : e);
  process.exit(1);
});
