// npm run policy -- --stack <name> [--config-dir <dir>]
// The policy pack over the offline render of a stack: what `pulumi preview
// --policy-pack policy` would refuse, without credentials. Exit 1 on a violation.
import { resolve } from "path";
import { parseArgs } from "util";
import { RenderError, renderStack } from "../render/render";
import { runPolicies } from "./offline";
import { POLICIES } from "./rules";

function usage(msg: string): never {
  console.error(`policy: ${msg}\nusage: npm run policy -- --stack <name> [--config-dir <dir>]`);
  process.exit(2);
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({ options: { stack: { type: "string" }, "config-dir": { type: "string" } }, strict: true }));
  } catch (e) {
    usage((e as Error).message);
  }
  const { stack, "config-dir": configDir } = values;
  if (!stack) usage("--stack is required");
  const result = await renderStack(resolve(__dirname, ".."), stack, configDir === undefined ? undefined : resolve(configDir));
  const violations = await runPolicies(result.resources, POLICIES);
  for (const v of violations) console.log(`mandatory  ${v.policy}: ${v.message}\n           ${v.urn}`);
  console.log(`${stack}: ${POLICIES.length} policies over ${result.resources.length} resources, ${violations.length} violation${violations.length === 1 ? "" : "s"}`);
  process.exit(violations.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e instanceof RenderError ? `policy: ${e.message}` : `policy: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
