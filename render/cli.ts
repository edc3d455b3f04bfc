// npm run render -- --stack <name> [--out <dir>] [--config-dir <dir>] [--last-outputs <file>]
// Runs the program offline (mock runtime, no credentials) and writes
// <dir>/resources.json, <dir>/outputs.json, <dir>/files/<machine>/<path> and the
// stack's picture, <dir>/topology.dot and <dir>/topology.svg, and the order `pulumi up`
// works in, <dir>/order.txt.
import { readFileSync } from "fs";
import { join, resolve } from "path";
import { parseArgs } from "util";
import { RenderError, renderStack } from "./render";
import { DrawError } from "./topology";
import { writeRender } from "./output";

function usage(msg: string): never {
  console.error(
    `render: ${msg}\nusage: npm run render -- --stack <name> [--out <dir>] [--config-dir <dir>] [--last-outputs <file>]   (reads <config-dir>/Pulumi.<name>.yaml; default stacks/; --last-outputs: the stack's outputs of a last up, JSON, as the program reads them back)`,
  );
  process.exit(2);
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: { stack: { type: "string" }, out: { type: "string" }, "config-dir": { type: "string" }, "last-outputs": { type: "string" } },
      strict: true,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  const { stack, out, "config-dir": configDir, "last-outputs": lastOutputs } = values;
  if (!stack) usage("--stack is required");
  const root = resolve(__dirname, "..");
  const dir = resolve(out ?? join(root, "out", stack));
  const result = await renderStack(root, stack, configDir ? resolve(configDir) : undefined, lastOutputs ? JSON.parse(readFileSync(resolve(lastOutputs), "utf8")) : undefined);
  writeRender(dir, result);
  console.log(result.summary);
  console.log(`wrote ${result.resources.length} resources and ${result.files.length} machine files to ${dir}`);
}

process.on("unhandledRejection", (e) => {
  console.error(`render: ${(e as Error)?.message ?? e}`);
  process.exit(1);
});
main().catch((e) => {
  console.error(e instanceof RenderError || e instanceof DrawError ? `render: ${e.message}` : `render: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
