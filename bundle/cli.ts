// npm run bundle -- --out DIR [--with-lab-images]
// Builds an air-gapped artifacts bundle from the toolchain cache (npm run toolchain
// first): node binaries, kubelet units, CNI plugins, and the images kubeadm asks for.
import { parseArgs } from "util";
import { join, resolve } from "path";
import { ToolchainError } from "../toolchain/build";
import { BundleError, buildBundle } from "./build";
import { HostFilesError } from "./hostfiles";
import { BundleManifestError } from "./manifest";

export const USAGE = "usage: npm run bundle -- --out DIR [--with-lab-images]";

/** The command line, or a message saying what is wrong with it. */
export function parseBundleArgs(args: string[]): { out: string; withLabImages: boolean } | { error: string } {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { out: { type: "string" }, "with-lab-images": { type: "boolean" } }, strict: true, allowPositionals: false }));
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (!values.out) return { error: "--out DIR is required" };
  return { out: resolve(values.out), withLabImages: !!values["with-lab-images"] };
}

async function main() {
  const parsed = parseBundleArgs(process.argv.slice(2));
  if ("error" in parsed) {
    console.error(`bundle: ${parsed.error}\n${USAGE}`);
    process.exit(2);
  }
  const t0 = Date.now();
  const log = (l: string) => console.error(`[bundle ${String(Math.round((Date.now() - t0) / 1000)).padStart(4)}s] ${l}`);
  const r = await buildBundle({ out: parsed.out, withLabImages: parsed.withLabImages, root: join(__dirname, ".."), log });
  for (const i of [...r.manifest.images, ...(r.manifest.extraImages ?? [])]) console.log(`${i.ref.padEnd(52)} ${i.file}`);
  console.log(
    `bundle ready in ${r.seconds.toFixed(1)}s: ${r.dir} (${(r.bytes / 1048576).toFixed(1)} MiB, Kubernetes ${r.manifest.kubernetesVersion}, CNI plugins ${r.manifest.cniPlugins})`,
  );
}

if (require.main === module) {
  main().catch((e) => {
    const known = e instanceof BundleError || e instanceof ToolchainError || e instanceof HostFilesError || e instanceof BundleManifestError;
    console.error(known ? `bundle: ${e.message}` : e);
    process.exit(1);
  });
}
